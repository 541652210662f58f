"""Reference profile and drift window: binning, PSI, sums over workers, bounds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from prometheus_client.metrics_core import GaugeMetricFamily

from predictor.manifest import Manifest, ManifestError
from serving import profile as profile_format
from transformer import drift, profile
from transformer.contract import FEATURE_NAMES, FEATURES
from transformer.synthetic import generate

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return generate(2000, seed=3, missing_rate=0.1)


@pytest.fixture(scope="module")
def built(rows: np.ndarray) -> dict:
    return profile.build(rows)


def naive_bin(feature_bins: profile.FeatureBins, value: float) -> int | None:
    """The bin of one value, the slow and obvious way (None: missing)."""
    if math.isnan(value):
        return None
    if feature_bins.kind == "categorical":
        return list(feature_bins.edges).index(value)
    for i, cut in enumerate(feature_bins.cuts):
        if value <= cut:
            return i
    return len(feature_bins.cuts)


def test_profile_shares_add_up_and_fit_the_manifest_check(built: dict) -> None:
    assert built["rows"] == 2000 and list(built["features"]) == list(FEATURE_NAMES)
    for entry in built["features"].values():
        assert abs(sum(entry["ratios"]) + entry["missing"] - 1) < 1e-5
    assert profile_format.problems(built, list(FEATURE_NAMES)) == []
    age = built["features"]["age"]
    assert age["kind"] == "numeric" and len(age["cuts"]) == profile.QUANTILES - 1
    assert built["features"]["cp"]["codes"] == [1, 2, 3, 4]
    assert built["features"]["age"]["missing"] == 0.0  # age is required
    assert 0.05 < built["features"]["chol"]["missing"] < 0.15


def test_binner_agrees_with_the_obvious_loop(rows: np.ndarray, built: dict) -> None:
    reference = profile.parse(built)
    counts = reference.binner.counts(rows[:300])
    for i, (bins, value_counts, missing) in enumerate(reference.binner.split(counts)):
        expected = np.zeros(bins.bins, dtype=int)
        for value in rows[:300, i]:
            index = naive_bin(bins, float(value))
            if index is not None:
                expected[index] += 1
        assert value_counts.tolist() == expected.tolist(), bins.name
        assert missing == int(np.isnan(rows[:300, i]).sum())


def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shift(built: dict) -> None:
    reference = profile.parse(built)

    def scores(matrix: np.ndarray) -> dict[str, float]:
        counts = reference.binner.counts(matrix)
        out = {}
        pairs = zip(
            reference.binner.split(counts), reference.binner.split(reference.shares), strict=True
        )
        for (bins, c, m), (_, q, qm) in pairs:
            out[bins.name] = drift.psi(np.append(c, m), len(matrix), np.append(q, qm), 2000)
        return out

    same = scores(generate(2000, seed=11, missing_rate=0.1))
    assert max(same.values()) < 0.05, same
    older = generate(2000, seed=11, missing_rate=0.1)
    older[:, 0] = np.clip(older[:, 0] + 15, 18, 100)
    moved = scores(older)
    assert moved["age"] > 1.0 and max(v for k, v in moved.items() if k != "age") < 0.05


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["features"]["age"].update(cuts=[50, 40]), "increasing"),
        (lambda p: p["features"]["cp"].update(ratios=[0.5, 0.5]), "ratios must be 4"),
        (lambda p: p["features"]["sex"].update(missing=0.3), "add up to 1"),
        (lambda p: p["features"].update(weight={"kind": "numeric"}), "not in feature_order"),
        (lambda p: p.update(rows=0), "positive integer"),
    ],
)
def test_a_bad_profile_makes_the_manifest_refused(built: dict, change, message: str) -> None:
    bad = json.loads(json.dumps(built))
    change(bad)
    manifest = {
        "feature_order": list(FEATURE_NAMES),
        "contract_hash": "a" * 64,
        "sklearn_version": "1.9.1",
        "sha256": "b" * 64,
        "threshold": 0.5,
        "reference_profile": bad,
    }
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json(json.dumps(manifest))
    assert Manifest.from_json(json.dumps({**manifest, "reference_profile": built}))


def test_a_profile_of_another_contract_is_refused(built: dict) -> None:
    other = json.loads(json.dumps(built))
    other["features"]["cp"]["codes"] = [0, 1, 2, 3]
    with pytest.raises(profile.ProfileError, match="cp"):
        profile.parse(other)


def test_the_window_keeps_at_most_its_rows_and_forgets_the_oldest() -> None:
    window = drift.Window(size=3, rows=100)
    for _ in range(30):
        window.add(np.array([7, 0, 0]), 7)
    window.add(np.array([0, 7, 0]), 7)
    assert 90 <= window.rows <= 100
    assert window.totals.sum() == window.rows and window.totals[1] == 7


def families(tracker: drift.DriftTracker) -> list:
    from prometheus_client import REGISTRY

    tracker.publish()
    return list(REGISTRY.collect())


def scores_of(families: list, min_rows: int) -> dict[tuple[str, str], float]:
    out = {}
    for family in drift.derive(families, min_rows):
        if family.name == "heart_drift_score":
            for s in family.samples:
                out[s.labels["model_version"], s.labels["feature"]] = s.value
    return out


def test_scores_come_from_the_sum_of_every_workers_window(built: dict, rows: np.ndarray) -> None:
    """Two workers' gauges summed (as multiprocess livesum does) score as one window."""
    text = json.dumps(built)
    one = drift.DriftTracker(window_rows=800, update_seconds=60)
    one.learn("u1", text)
    one.observe(rows[:400], "u1")
    whole = scores_of(families(one), 1)
    one.observe(rows[:0], "u1")
    halves = []
    for part in (rows[:200], rows[200:400]):
        worker = drift.DriftTracker(window_rows=800, update_seconds=60, workers=2)
        worker.learn("u2", text)
        worker.observe(part, "u2")
        halves.append(
            next(f for f in families(worker) if f.name.startswith("heart_drift_window_bin"))
        )
    summed = GaugeMetricFamily(
        "heart_drift_window_bin_rows", "", labels=["model_version", "feature", "bin"]
    )
    totals: dict[tuple, float] = {}
    for family in halves:
        for s in family.samples:
            if s.labels["model_version"] == "u2":
                key = (s.labels["model_version"], s.labels["feature"], s.labels["bin"])
                totals[key] = totals.get(key, 0.0) + s.value
    for key, value in totals.items():
        summed.add_metric(list(key), value)
    reference = [f for f in families(one) if not f.name.startswith("heart_drift_window_bin")]
    split = scores_of([summed, *reference], 1)
    for feature in FEATURE_NAMES:
        assert split["u2", feature] == pytest.approx(whole["u1", feature])


def test_no_score_below_min_rows_and_at_most_max_versions(built: dict, rows: np.ndarray) -> None:
    tracker = drift.DriftTracker(window_rows=500, update_seconds=60)
    text = json.dumps(built)
    for version in ("a1", "a2", "a3", "a4"):
        tracker.learn(version, text)
    assert list(tracker.tracked) == ["a2", "a3", "a4"]
    tracker.observe(rows[:50], "a3")
    tracker.observe(rows[:300], "a4")
    tracker.observe(rows[:300], "unknown")  # no profile: not counted
    scores = scores_of(families(tracker), min_rows=100)
    versions = {v for v, _ in scores}
    assert "a4" in versions and "a3" not in versions and "a1" not in versions
    assert len([k for k in scores if k[0] == "a4"]) == len(FEATURES)


def test_a_profile_the_transformer_cannot_read_disables_drift_only(built: dict) -> None:
    tracker = drift.DriftTracker(window_rows=500, update_seconds=60)
    tracker.learn("b1", json.dumps({"rows": 1, "features": {}}))
    tracker.learn("b2", "not json")
    assert "b1" not in tracker.tracked and "b2" not in tracker.tracked
    tracker.observe(np.zeros((1, len(FEATURES)), dtype=np.float32), "b1")

"""Request telemetry: bulk histogram updates, bounded labels, outcomes."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram

from predictor.metrics import risk_buckets
from serving import telemetry
from serving.problems import Problem

pytestmark = pytest.mark.unit


def samples(registry: CollectorRegistry) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_observe_many_equals_one_observe_per_value() -> None:
    values = np.random.default_rng(0).random(1000).astype(np.float32)
    values[:5] = [0.0, 0.45, 0.46, 1.0, 0.4499999]
    bulk, single = CollectorRegistry(), CollectorRegistry()
    buckets = risk_buckets(0.45)
    a = Histogram("risk", "", ["v"], buckets=buckets, registry=bulk)
    b = Histogram("risk", "", ["v"], buckets=buckets, registry=single)
    telemetry.observe_many(a.labels("1"), values)
    for value in values:
        b.labels("1").observe(float(value))
    left, right = samples(bulk), samples(single)
    assert left.keys() == right.keys()
    for key in left:
        assert left[key] == pytest.approx(right[key], rel=1e-9), key


def test_risk_buckets_are_fine_near_the_threshold() -> None:
    buckets = risk_buckets(0.37)
    assert [b for b in buckets if 0.31 < b < 0.43] == [
        0.32,
        0.33,
        0.34,
        0.35,
        0.36,
        0.37,
        0.38,
        0.39,
        0.4,
        0.41,
        0.42,
    ]
    assert all(0 < b < 1 for b in buckets) and buckets == sorted(set(buckets))


def test_problem_labels_are_contract_fields_or_fixed_words() -> None:
    before = {k: v for k, v in samples_of_validation().items()}
    problems = [
        Problem(0, "age", 300, "out of range", kind="out_of_range"),
        Problem(0, "Smith John", 1, "unknown", kind="unknown_field"),
        Problem(None, None, None, "empty", kind="batch"),
        Problem(1, "cp", 9, "bad", kind="caller-made-up"),
    ]
    telemetry.count_problems(problems, known={"age", "cp"})
    after = samples_of_validation()
    grown = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert grown == {
        ("age", "out_of_range"): 1,
        ("unknown", "unknown_field"): 1,
        ("request", "batch"): 1,
        ("cp", "other"): 1,
    }


def samples_of_validation() -> dict[tuple[str, str], float]:
    return {
        (s.labels["field"], s.labels["kind"]): s.value
        for s in next(iter(telemetry.VALIDATION_FAILURES.collect())).samples
        if s.name.endswith("_total")
    }


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (400, "invalid"),
        (404, "not_found"),
        (503, "unavailable"),
        (504, "timeout"),
        (413, "client_error"),
        (500, "error"),
        (502, "error"),
    ],
)
def test_http_outcomes(status: int, outcome: str) -> None:
    assert telemetry.http_outcome(status) == outcome
    assert outcome in telemetry.OUTCOMES

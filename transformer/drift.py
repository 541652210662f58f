"""Per-feature drift of the rows the transformer sees, against the model's reference profile.

Each model version the predictor answers with has a :class:`Window`: the
counts per bin of the last ``window_rows`` rows (a ring of
:data:`BLOCKS` blocks, so the window slides by a tenth), never a row.
Every ``update_seconds`` a worker publishes its window's counts and the
reference shares as gauges (``livesum``: prometheus multiprocess mode sums
the workers). At scrape, :func:`derive` turns the summed counts into

- ``heart_drift_score{model_version, feature}``: the population stability
  index (PSI) of the window against the reference, over the field's bins plus
  its missing bin, ``sum((p - q) * ln(p / q))``, both shares smoothed by half
  a row per bin (so an empty bin is finite);
- ``heart_drift_missing_rate`` and ``heart_drift_reference_missing_rate``;
- ``heart_drift_window_rows{model_version}``;

and drops the per-bin families, so /metrics shows 13 scores per version.
Scores appear once a version's window holds ``min_rows`` rows. At most
:data:`MAX_VERSIONS` versions are tracked (the least recently answering one
is dropped), which bounds the label values.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from kserve.logging import logger
from prometheus_client import Gauge
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from transformer.profile import ProfileError, Reference, parse

#: Versions tracked at once (label values of the drift gauges).
MAX_VERSIONS = 3
#: Blocks of a window: it forgets its oldest tenth at a time.
BLOCKS = 10
#: Smoothing, in rows, added to every bin on both sides of the PSI.
SMOOTHING = 0.5

_BIN_ROWS = "heart_drift_window_bin_rows"
_REF_SHARE = "heart_drift_reference_bin_share"
_REF_ROWS = "heart_drift_reference_rows"
WINDOW_BINS = Gauge(
    _BIN_ROWS,
    "Rows of the drift window per bin (summed over workers; consumed at scrape)",
    ["model_version", "feature", "bin"],
    multiprocess_mode="livesum",
)
REFERENCE_SHARES = Gauge(
    _REF_SHARE,
    "Share of the training rows per bin (consumed at scrape)",
    ["model_version", "feature", "bin"],
    multiprocess_mode="livemax",
)
REFERENCE_ROWS = Gauge(
    _REF_ROWS,
    "Training rows the reference profile was computed from (consumed at scrape)",
    ["model_version"],
    multiprocess_mode="livemax",
)


class Window:
    """Counts per bin of the last ``rows`` rows at most, in blocks of ``rows / BLOCKS``.

    A request's rows go to the newest block; the oldest blocks are dropped
    while the window holds more than ``rows``, so it slides a block at a time.
    """

    def __init__(self, size: int, rows: int) -> None:
        self.capacity = rows
        self.block_rows = max(1, math.ceil(rows / BLOCKS))
        self.blocks: deque[tuple[np.ndarray, list[int]]] = deque()
        self.totals = np.zeros(size, dtype=np.int64)
        self.rows = 0

    def add(self, counts: np.ndarray, rows: int) -> None:
        if not self.blocks or self.blocks[-1][1][0] >= self.block_rows:
            self.blocks.append((np.zeros_like(self.totals), [0]))
        block, filled = self.blocks[-1]
        block += counts
        filled[0] += rows
        self.totals += counts
        self.rows += rows
        while self.rows > self.capacity and len(self.blocks) > 1:
            dropped, (dropped_rows,) = self.blocks.popleft()
            self.totals -= dropped
            self.rows -= dropped_rows


@dataclass
class Tracked:
    reference: Reference
    window: Window
    published: bool = False


class DriftTracker:
    """The windows of one worker process and their gauges.

    ``window_rows`` is the window of the whole server: with ``workers``
    processes each keeps ``window_rows / workers`` rows, and the gauges sum them.
    """

    def __init__(self, window_rows: int, update_seconds: float, workers: int = 1) -> None:
        self.window_rows = max(1, math.ceil(window_rows / max(1, workers)))
        self.update_seconds = update_seconds
        self.tracked: OrderedDict[str, Tracked] = OrderedDict()
        self._profiles: dict[str, str] = {}
        self._dirty = False
        self._published_at = time.monotonic()

    def learn(self, version: str, profile_json: str) -> None:
        """Track ``version`` with the profile its predictor published (JSON text)."""
        label = version or "unversioned"
        if not profile_json or self._profiles.get(label) == profile_json:
            return
        try:
            reference = parse(json.loads(profile_json))
        except (ProfileError, ValueError, TypeError, KeyError) as exc:
            logger.warning("no drift tracking for model version %s: %s", label, exc)
            self._profiles[label] = profile_json
            return
        self._profiles[label] = profile_json
        self._forget(label)
        self.tracked[label] = Tracked(reference, Window(reference.binner.size, self.window_rows))
        while len(self.tracked) > MAX_VERSIONS:
            self._forget(next(iter(self.tracked)))

    def observe(self, matrix: np.ndarray, version: str) -> None:
        """Count ``matrix``'s rows in ``version``'s window (unknown versions are skipped)."""
        tracked = self.tracked.get(version or "unversioned")
        if tracked is None:
            return
        self.tracked.move_to_end(version or "unversioned")
        tracked.window.add(tracked.reference.binner.counts(matrix), len(matrix))
        self._dirty = True
        if time.monotonic() - self._published_at >= self.update_seconds:
            self.publish()

    def publish(self) -> None:
        """Write every window's counts (and each reference once) to the gauges."""
        for version, tracked in self.tracked.items():
            _set_bins(WINDOW_BINS, version, tracked.reference, tracked.window.totals)
            if not tracked.published:
                _set_bins(REFERENCE_SHARES, version, tracked.reference, tracked.reference.shares)
                REFERENCE_ROWS.labels(version).set(tracked.reference.rows)
                tracked.published = True
        self._dirty = False
        self._published_at = time.monotonic()

    @property
    def due(self) -> bool:
        return self._dirty

    def _forget(self, version: str) -> None:
        """Zero a version's gauges (multiprocess files keep keys: zero rows = no score)."""
        tracked = self.tracked.pop(version, None)
        if tracked is not None and tracked.published:
            zeros = np.zeros(tracked.reference.binner.size)
            _set_bins(WINDOW_BINS, version, tracked.reference, zeros)
            _set_bins(REFERENCE_SHARES, version, tracked.reference, zeros)
            REFERENCE_ROWS.labels(version).set(0)


def _set_bins(gauge: Gauge, version: str, reference: Reference, values: np.ndarray) -> None:
    for feature, bins, missing in reference.binner.split(np.asarray(values, dtype=np.float64)):
        for label, value in zip(feature.labels(), bins.tolist(), strict=True):
            gauge.labels(version, feature.name, label).set(value)
        gauge.labels(version, feature.name, "missing").set(missing)


def psi(counts: np.ndarray, rows: float, shares: np.ndarray, ref_rows: float) -> float:
    """PSI of ``counts`` (``rows`` in all) against ``shares`` of ``ref_rows``, smoothed."""
    k = len(counts)
    p = (np.asarray(counts, np.float64) + SMOOTHING) / (rows + SMOOTHING * k)
    q = (np.asarray(shares, np.float64) * ref_rows + SMOOTHING) / (ref_rows + SMOOTHING * k)
    return float(np.sum((p - q) * np.log(p / q)))


def derive(families: list[Metric], min_rows: int) -> Iterable[Metric]:
    """Replace the per-bin drift families by scores, missing rates and window sizes."""
    window: dict[tuple[str, str], dict[str, float]] = {}
    reference: dict[tuple[str, str], dict[str, float]] = {}
    ref_rows: dict[str, float] = {}
    for family in families:
        if family.name == _BIN_ROWS:
            _collect(family, window)
        elif family.name == _REF_SHARE:
            _collect(family, reference)
        elif family.name == _REF_ROWS:
            ref_rows.update((s.labels["model_version"], s.value) for s in family.samples)
        else:
            yield family
    yield from _scores(window, reference, ref_rows, min_rows)


def _collect(family: Metric, into: dict[tuple[str, str], dict[str, float]]) -> None:
    for sample in family.samples:
        key = (sample.labels["model_version"], sample.labels["feature"])
        bins = into.setdefault(key, {})
        bins[sample.labels["bin"]] = bins.get(sample.labels["bin"], 0.0) + sample.value


def _scores(
    window: dict[tuple[str, str], dict[str, float]],
    reference: dict[tuple[str, str], dict[str, float]],
    ref_rows: dict[str, float],
    min_rows: int,
) -> Iterable[Metric]:
    labels = ["model_version", "feature"]
    score = GaugeMetricFamily(
        "heart_drift_score", "PSI of the window against the reference", labels=labels
    )
    missing = GaugeMetricFamily(
        "heart_drift_missing_rate", "Share of window rows missing the field", labels=labels
    )
    ref_missing = GaugeMetricFamily(
        "heart_drift_reference_missing_rate",
        "Share of training rows missing the field",
        labels=labels,
    )
    rows_family = GaugeMetricFamily(
        "heart_drift_window_rows", "Rows in the drift window", labels=["model_version"]
    )
    sizes: dict[str, float] = {}
    for (version, feature), bins in sorted(window.items()):
        shares = reference.get((version, feature), {})
        rows = sum(bins.values())
        if rows < 1 or ref_rows.get(version, 0) < 1 or set(shares) != set(bins):
            continue
        sizes[version] = rows
        if rows < min_rows:
            continue
        order = sorted(bins)
        counts = np.array([bins[b] for b in order])
        score.add_metric(
            [version, feature],
            psi(counts, rows, np.array([shares[b] for b in order]), ref_rows[version]),
        )
        missing.add_metric([version, feature], bins.get("missing", 0.0) / rows)
        ref_missing.add_metric([version, feature], shares.get("missing", 0.0))
    for version, rows in sizes.items():
        rows_family.add_metric([version], rows)
    return [score, missing, ref_missing, rows_family]

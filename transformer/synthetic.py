"""Valid patient records generated from the feature contract.

Used by load tests (payloads), parity checks of fast inference paths
(thousands of rows), batch-scoring benchmarks and test fixtures. Every row
passes :meth:`Feature.check`; nothing here reads the UCI data.
"""

from __future__ import annotations

import math

import numpy as np

from transformer.contract import FEATURE_NAMES, FEATURES, Feature

#: Typical values (mean, standard deviation) of the numeric fields, clipped
#: to the contract's range, so that generated patients look like real ones.
_TYPICAL: dict[str, tuple[float, float]] = {
    "age": (54.0, 9.0),
    "trestbps": (132.0, 18.0),
    "chol": (246.0, 52.0),
    "thalach": (149.0, 23.0),
    "oldpeak": (1.0, 1.2),
    "ca": (0.7, 0.9),
}


def _column(feature: Feature, n: int, rng: np.random.Generator) -> np.ndarray:
    if feature.kind == "categorical":
        return rng.choice(np.array(sorted(feature.codes), dtype=np.float64), size=n)
    mean, std = _TYPICAL[feature.name]
    values = rng.normal(mean, std, size=n)
    low = -math.inf if feature.minimum is None else feature.minimum
    high = math.inf if feature.maximum is None else feature.maximum
    values = np.clip(values, low, high)
    return np.round(values) if feature.integer else np.round(values, 1)


def generate(n: int, seed: int = 0, missing_rate: float = 0.0) -> np.ndarray:
    """A float32 matrix [n, 13] of valid rows in contract order.

    With ``missing_rate`` > 0 each nullable value is NaN with that probability.
    """
    rng = np.random.default_rng(seed)
    matrix = np.column_stack([_column(f, n, rng) for f in FEATURES]).astype(np.float32)
    if missing_rate > 0:
        for i, feature in enumerate(FEATURES):
            if feature.nullable:
                matrix[rng.random(n) < missing_rate, i] = np.nan
    return matrix


def to_records(matrix: np.ndarray) -> list[dict[str, float | None]]:
    """Rows as JSON-ready records (field -> number, None for missing)."""
    return [
        {
            name: None if math.isnan(value) else _plain(value)
            for name, value in zip(FEATURE_NAMES, row.tolist(), strict=True)
        }
        for row in matrix
    ]


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 4)

"""The reference profile of each contract field: built at export, binned against in serving.

:func:`build` turns the training matrix into the profile ``model.json``
stores (format: :mod:`serving.profile`): ``QUANTILES``-quantile cut points
for numeric fields, code frequencies for categorical ones, the missing-value
rate of each. :class:`Binner` counts the rows of a matrix in the profile's
bins; the export and the transformer's drift window both count with it, so
a row falls in the same bin on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving import profile as profile_format
from transformer.contract import FEATURE_NAMES, FEATURES, Feature

#: Numeric fields are cut at the 1/QUANTILES, ..., (QUANTILES-1)/QUANTILES quantiles.
QUANTILES = 10
#: Each feature's values are moved into a block of this width for one searchsorted.
_BLOCK = 1.0e6


class ProfileError(ValueError):
    """A profile that does not fit the contract; the message says why."""


@dataclass(frozen=True)
class FeatureBins:
    """One field's bins: ``edges`` are numeric cut points or categorical codes."""

    name: str
    kind: str
    edges: tuple[float, ...]

    @property
    def cuts(self) -> tuple[float, ...]:
        """Upper bounds of every bin but the last (codes: all codes but the last)."""
        return self.edges if self.kind == "numeric" else self.edges[:-1]

    @property
    def bins(self) -> int:
        """Value bins, without the missing bin."""
        return len(self.cuts) + 1

    def labels(self) -> list[str]:
        """Bin names: the code, or the bin's upper bound (``+Inf`` for the last)."""
        if self.kind == "categorical":
            return [_num(e) for e in self.edges]
        return [*(_num(c) for c in self.cuts), "+Inf"]


class Binner:
    """Counts rows of a contract matrix [N, 13] in every field's bins at once.

    Column ``f``'s bins come first in field order, then one missing bin per
    field: :attr:`size` counts in all. One ``searchsorted`` bins every cell:
    each column is shifted into a block of its own so that all cut points
    form one sorted array.
    """

    def __init__(self, features: list[FeatureBins]) -> None:
        if [f.name for f in features] != list(FEATURE_NAMES):
            raise ProfileError("a profile must describe every contract field, in contract order")
        self.features = features
        self.value_bins = sum(f.bins for f in features)
        self.size = self.value_bins + len(features)
        shifts = np.arange(len(features), dtype=np.float64) * _BLOCK
        self._shifts = shifts
        self._cuts = np.concatenate(
            [
                np.asarray(f.cuts, dtype=np.float64) + s
                for f, s in zip(features, shifts, strict=True)
            ]
        )
        self._column = np.arange(len(features))

    def counts(self, matrix: np.ndarray) -> np.ndarray:
        """int64 [size]: rows per bin, missing bins last."""
        data = np.asarray(matrix, dtype=np.float64)
        missing = np.isnan(data)
        shifted = np.clip(data, -_BLOCK / 2 + 1, _BLOCK / 2 - 1) + self._shifts
        index = np.searchsorted(self._cuts, shifted, side="left") + self._column
        index = np.where(missing, self.value_bins + self._column, index)
        return np.bincount(index.reshape(-1), minlength=self.size)

    def split(self, values: np.ndarray) -> list[tuple[FeatureBins, np.ndarray, float]]:
        """Per field: its bins, its value bins' entries and its missing bin's (counts or shares)."""
        out, start = [], 0
        for i, feature in enumerate(self.features):
            missing = float(values[self.value_bins + i])
            out.append((feature, values[start : start + feature.bins], missing))
            start += feature.bins
        return out


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _numeric_cuts(column: np.ndarray) -> tuple[float, ...]:
    observed = column[~np.isnan(column)]
    if not observed.size:
        return ()
    levels = np.arange(1, QUANTILES) / QUANTILES
    cuts = np.round(np.quantile(observed, levels), profile_format.DECIMALS)
    return tuple(float(c) for c in np.unique(cuts))


def _bins_for(feature: Feature, column: np.ndarray) -> FeatureBins:
    if feature.kind == "categorical":
        return FeatureBins(
            feature.name, "categorical", tuple(float(c) for c in sorted(feature.codes))
        )
    return FeatureBins(feature.name, "numeric", _numeric_cuts(column))


def build(matrix: np.ndarray) -> dict[str, Any]:
    """The reference profile of a contract matrix [N, 13] (the training rows)."""
    data = np.asarray(matrix, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != len(FEATURES) or not len(data):
        raise ProfileError(f"expected a non-empty matrix [N, {len(FEATURES)}], got {data.shape}")
    binner = Binner([_bins_for(f, data[:, i]) for i, f in enumerate(FEATURES)])
    rows = len(data)
    features = {}
    for bins, counts, missing in binner.split(binner.counts(data)):
        edges_key = "cuts" if bins.kind == "numeric" else "codes"
        edges = [int(e) if bins.kind == "categorical" else e for e in bins.edges]
        features[bins.name] = {
            "kind": bins.kind,
            edges_key: edges,
            "ratios": [round(int(c) / rows, profile_format.DECIMALS) for c in counts],
            "missing": round(missing / rows, profile_format.DECIMALS),
        }
    return {"rows": rows, "features": features}


@dataclass(frozen=True)
class Reference:
    """A parsed profile: its binner, reference shares per bin (missing last) and rows."""

    binner: Binner
    shares: np.ndarray
    rows: int


def parse(data: Mapping[str, Any]) -> Reference:
    """A profile from ``model.json`` / the predictor's metadata, checked against the contract."""
    found = profile_format.problems(data, list(FEATURE_NAMES))
    if not found and not data:
        found = ["the profile is empty"]
    features = data.get("features", {}) if not found else {}
    if not found and set(features) != set(FEATURE_NAMES):
        found = [f"the profile lacks fields {sorted(set(FEATURE_NAMES) - set(features))}"]
    for feature in FEATURES if not found else ():
        entry = features[feature.name]
        if entry["kind"] != feature.kind:
            found.append(f"{feature.name} is {feature.kind} in the contract, {entry['kind']} here")
        elif feature.kind == "categorical" and sorted(entry["codes"]) != sorted(feature.codes):
            found.append(f"{feature.name}: codes {entry['codes']} are not the contract's")
    if found:
        raise ProfileError("; ".join(found))
    bins = [
        FeatureBins(
            f.name,
            f.kind,
            tuple(float(v) for v in features[f.name]["cuts" if f.kind == "numeric" else "codes"]),
        )
        for f in FEATURES
    ]
    shares = [r for f in FEATURES for r in features[f.name]["ratios"]]
    shares += [features[f.name]["missing"] for f in FEATURES]
    return Reference(Binner(bins), np.asarray(shares, dtype=np.float64), int(data["rows"]))


def _edges(entry: Mapping[str, Any]) -> tuple[float, ...]:
    return tuple(float(v) for v in entry["cuts" if entry["kind"] == "numeric" else "codes"])

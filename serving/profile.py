"""The reference profile of the training data, as ``model.json`` stores it.

Training writes it at export (:mod:`transformer.profile` builds it from the
contract), the predictor checks its shape with :func:`problems` and passes it
on in its metadata (parameter ``reference_profile``, compact JSON), and the
transformer bins the rows it sees against it to score drift. It holds counts
of bins and codes, never a patient row::

    {"rows": 303,                       # training rows it was computed from
     "features": {
       "age":  {"kind": "numeric", "cuts": [41, 45.6, ...],   # quantile cut points
                "ratios": [0.1, ...], "missing": 0.0},
       "cp":   {"kind": "categorical", "codes": [1, 2, 3, 4],
                "ratios": [0.08, ...], "missing": 0.0}}}

A numeric field's bin ``i`` holds the values in ``(cuts[i-1], cuts[i]]``
(``len(cuts) + 1`` bins); a categorical field has one bin per code.
``ratios`` are shares of *all* rows, so ``sum(ratios) + missing == 1``.
Standard library only: it knows no features, only the shape.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

KINDS = ("numeric", "categorical")
#: How far ``sum(ratios) + missing`` may be from 1 (ratios are rounded).
SUM_TOLERANCE = 1e-3
#: Decimals kept for ratios and cut points in model.json.
DECIMALS = 6


def problems(profile: object, feature_order: Sequence[str]) -> list[str]:
    """Every way ``profile`` is not a profile of the features in ``feature_order``."""
    if profile == {}:
        return []
    if not isinstance(profile, Mapping):
        return ["reference_profile must be an object"]
    found = []
    rows = profile.get("rows")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        found.append("reference_profile.rows must be a positive integer")
    features = profile.get("features")
    if not isinstance(features, Mapping) or not features:
        return [*found, "reference_profile.features must be a non-empty object"]
    unknown = sorted(set(features) - set(feature_order))
    if unknown:
        found.append(f"reference_profile names features not in feature_order: {unknown}")
    for name, entry in features.items():
        found += [f"reference_profile.features.{name}: {p}" for p in _feature_problems(entry)]
    return found


def _feature_problems(entry: object) -> list[str]:
    if not isinstance(entry, Mapping):
        return ["must be an object"]
    kind = entry.get("kind")
    if kind not in KINDS:
        return [f"kind must be one of {', '.join(KINDS)}"]
    edges_key = "cuts" if kind == "numeric" else "codes"
    edges, ratios, missing = entry.get(edges_key), entry.get("ratios"), entry.get("missing")
    if not isinstance(edges, list) or not _increasing(edges):
        return [f"{edges_key} must be a list of increasing finite numbers"]
    bins = len(edges) + 1 if kind == "numeric" else len(edges)
    found = []
    if not isinstance(ratios, list) or not _shares(ratios) or len(ratios) != bins:
        found.append(f"ratios must be {bins} numbers in [0, 1]")
    if not _shares([missing]):
        found.append("missing must be a number in [0, 1]")
    if not found and abs(sum(ratios or ()) + float(missing or 0) - 1.0) > SUM_TOLERANCE:
        found.append("ratios and missing must add up to 1")
    return found


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _increasing(values: object) -> bool:
    if not isinstance(values, list) or not all(_number(v) for v in values):
        return False
    return all(a < b for a, b in itertools.pairwise(values))


def _shares(values: object) -> bool:
    return isinstance(values, list) and all(_number(v) and 0.0 <= v <= 1.0 for v in values)


def compact(profile: Mapping[str, Any]) -> str:
    """The profile as one line of JSON (the predictor's metadata parameter)."""
    return json.dumps(profile, separators=(",", ":"), sort_keys=True)

"""Request bodies generated from the feature contract (never hand-written rows).

- :func:`tensor_v2`: the predictor's (and the stock runtimes') v2 request, one
  FP32 [N, 13] tensor in contract order;
- :func:`records_v2`: the transformer's v2 request, one named input per field;
- :func:`records_v1`: the transformer's v1 ``{"instances": [{field: value}]}``;
- :func:`invalid_v1`: records with one field broken, which must get a 400.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from transformer.contract import FEATURES, N_FEATURES
from transformer.synthetic import generate, to_records

#: How each field travels in v2: integer codes and counts as INT32, the rest FP32.
V2_TYPES = {f.name: ("INT32" if f.integer else "FP32") for f in FEATURES}


def tensor_v2(rows: np.ndarray) -> dict[str, Any]:
    data = np.asarray(rows, dtype=np.float32)
    return {
        "inputs": [
            {
                "name": "features",
                "shape": [len(data), N_FEATURES],
                "datatype": "FP32",
                "data": data.ravel().tolist(),
            }
        ]
    }


def records_v2(rows: np.ndarray) -> dict[str, Any]:
    """Named columns; ``rows`` must have no missing values (v2 numbers cannot be null)."""
    inputs = []
    for i, feature in enumerate(FEATURES):
        column = rows[:, i]
        data = column.astype(int).tolist() if feature.integer else column.round(4).tolist()
        inputs.append(
            {
                "name": feature.name,
                "shape": [len(rows)],
                "datatype": V2_TYPES[feature.name],
                "data": data,
            }
        )
    return {"inputs": inputs}


def records_v1(rows: np.ndarray) -> dict[str, Any]:
    return {"instances": to_records(rows)}


#: (field, bad value): each breaks exactly one contract rule.
BREAKERS: tuple[tuple[str, Any], ...] = (
    ("age", 7),  # below the allowed range
    ("cp", 9),  # not an allowed code
    ("sex", None),  # required field missing
    ("chol", "high"),  # not a number nor a label
    ("thal", 4),  # not an allowed code
)


def invalid_v1(seed: int, rows: int = 1) -> tuple[dict[str, Any], str]:
    """A v1 body whose last record has one broken field, and that field's name."""
    records = to_records(generate(rows, seed=seed))
    field, value = BREAKERS[seed % len(BREAKERS)]
    records[-1][field] = value
    return {"instances": records}, field


def body(kind: str, rows: int, seed: int) -> dict[str, Any]:
    """One valid body of ``kind`` ("tensor" or "records") with ``rows`` rows."""
    matrix = generate(rows, seed=seed)
    return tensor_v2(matrix) if kind == "tensor" else records_v2(matrix)


def write_bodies(path: Path, kind: str, rows: int, count: int = 16) -> Path:
    """``count`` distinct bodies, one JSON document per line (the load generator's input)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(body(kind, rows, seed), separators=(",", ":")) for seed in range(count))
    path.write_text("\n".join(lines) + "\n")
    return path


def invalid_v2(seed: int) -> tuple[dict[str, Any], str]:
    """A one-row v2 named-columns body with one field out of its allowed values."""
    body = records_v2(generate(1, seed=seed))
    field, value = (("age", 7), ("cp", 9), ("thal", 4), ("trestbps", 400))[seed % 4]
    for tensor in body["inputs"]:
        if tensor["name"] == field:
            tensor["data"] = [value]
    return body, field


def records_v1_missing(rows: int, seed: int) -> dict[str, Any]:
    """v1 records with some nullable fields missing (sent as null)."""
    return records_v1(generate(rows, seed=seed, missing_rate=0.05))

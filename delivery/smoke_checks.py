"""What a smoke reply must hold, row by row: outputs, risks and labels.

The transformer answers ``risk`` (FP32, P(disease) in [0, 1]) and ``label``
(BYTES, one of the contract's labels); the predictor ``probability`` (FP32 in
[0, 1]) and ``label`` (INT32 class, 0 or 1). A reply with the right names but
a NaN, a probability of 1.3 or an unknown label is a failed smoke test.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from transformer.contract import LABELS

TRANSFORMER_OUTPUTS = {"risk": "probability", "label": LABELS}
PREDICTOR_OUTPUTS = {"probability": "probability", "label": (0, 1)}


class SmokeError(Exception):
    """A reply that a client could not use; the message names output and row."""


def v2_outputs(reply: Mapping[str, Any]) -> dict[str, list[Any]]:
    """A v2 REST reply's outputs as name -> flat list of values."""
    return {o["name"]: list(o.get("data") or []) for o in reply.get("outputs", [])}


def check(
    outputs: Mapping[str, Sequence[Any]], rows: int, expected: Mapping[str, Any], who: str
) -> str:
    """Raise SmokeError on the first problem; a one-line summary otherwise."""
    if set(outputs) != set(expected):
        raise SmokeError(f"{who}: outputs {sorted(outputs)}, expected {sorted(expected)}")
    for name, rule in expected.items():
        values = list(outputs[name])
        if len(values) != rows:
            raise SmokeError(f"{who}: output {name} has {len(values)} values for {rows} rows")
        for row, value in enumerate(values):
            _check_value(value, rule, f"{who}: output {name}, row {row}")
    return f"{who}: {rows} rows, " + ", ".join(
        f"{name} {list(outputs[name])!r}" for name in expected
    )


def _check_value(value: Any, rule: Any, where: str) -> None:
    if rule == "probability":
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        number = float(value) if real else math.nan
        if not 0.0 <= number <= 1.0:
            raise SmokeError(f"{where}: {value!r} is not a probability in [0, 1]")
    elif _plain(value) not in rule:
        raise SmokeError(f"{where}: {value!r} is not one of {list(rule)}")


def _plain(value: Any) -> Any:
    """gRPC BYTES arrive as bytes, INT32 as numpy or Python ints."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if hasattr(value, "item") else value

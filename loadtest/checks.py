"""Response checks shared by the Locust users: status, row count, risk in [0, 1]."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Expect:
    """What a good answer looks like.

    ``output`` is the v2 output holding the risks (``risk``, ``probability``)
    or ``v1`` for ``{"predictions": [{"risk": ...}]}``. A 400 must name ``field``.
    """

    rows: int
    output: str
    status: int = 200
    field: str = ""


def check_risks(values: Sequence[Any], rows: int) -> str | None:
    """Why ``values`` are not ``rows`` probabilities in [0, 1], or ``None``."""
    if len(values) != rows:
        return f"expected {rows} risks, got {len(values)}"
    for i, value in enumerate(values):
        if not isinstance(value, int | float) or math.isnan(value) or not 0.0 <= value <= 1.0:
            return f"row {i}: risk {value!r} is not a probability in [0, 1]"
    return None


def _output(body: Any, name: str) -> list[Any] | None:
    for output in body.get("outputs", []) if isinstance(body, dict) else []:
        if isinstance(output, dict) and output.get("name") == name:
            data = output.get("data")
            return data if isinstance(data, list) else None
    return None


def _v1_risks(body: Any) -> list[Any] | None:
    predictions = body.get("predictions") if isinstance(body, dict) else None
    if not isinstance(predictions, list):
        return None
    return [p.get("risk") if isinstance(p, dict) else None for p in predictions]


def check_rows(status: int, text: str, expect: Expect) -> str | None:
    """Why a response is wrong, or ``None``."""
    if status != expect.status:
        return f"status {status}, expected {expect.status}: {text[:200]}"
    if expect.status != 200:
        if expect.field in text:
            return None
        return f"the {status} does not name the bad field {expect.field!r}: {text[:200]}"
    try:
        body = json.loads(text)
    except ValueError:
        return f"not JSON: {text[:200]}"
    values = _v1_risks(body) if expect.output == "v1" else _output(body, expect.output)
    if values is None:
        return f"no {expect.output!r} in the response: {text[:200]}"
    return check_risks(values, expect.rows)

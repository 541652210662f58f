"""The UCI processed-file format: 14 comma-separated fields, ``?`` for missing.

Parsing applies the feature contract: the contract's ``missing_values``
(0 for cholesterol and blood pressure) become missing, every value must pass
:meth:`Feature.check`, the target ``num``
(0-4) becomes ``num > 0``. Errors name the file, line and column.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from transformer.contract import FEATURES, N_FEATURES

#: Fields where a value means "not measured" (the contract's ``missing_values``).
MISSING_CODED = {f.name: f.missing_values for f in FEATURES if f.missing_values}
N_COLUMNS = N_FEATURES + 1  # the 13 features and the target ``num``


class DataError(ValueError):
    """A data file is missing, corrupt, truncated or tampered (one-line message)."""


def parse_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    return parse_text(path.read_text(encoding="utf-8", errors="replace"), str(path))


def parse_text(text: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse a processed file's text; ``name`` is used in error messages."""
    rows, targets = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            row = _parse_line(line, name, number)
            rows.append(row[:N_FEATURES])
            targets.append(int(row[N_FEATURES] > 0))
    if not rows:
        raise DataError(f"{name}: no data rows (empty or truncated file)")
    return np.asarray(rows, dtype=np.float32), np.asarray(targets, dtype=np.int64)


def _parse_line(line: str, name: str, number: int) -> list[float]:
    fields = line.strip().split(",")
    if len(fields) != N_COLUMNS:
        raise DataError(
            f"{name} line {number}: {len(fields)} fields, expected {N_COLUMNS}"
            " (truncated or corrupt row)"
        )
    values = [_parse_feature(f, i, name, number) for i, f in enumerate(fields[:N_FEATURES])]
    return [*values, _parse_target(fields[N_FEATURES], name, number)]


def _parse_feature(text: str, index: int, name: str, number: int) -> float:
    feature = FEATURES[index]
    where = f"{name} line {number} column {index + 1} ({feature.name})"
    value = math.nan if text.strip() == "?" else feature.normalize(_number(text, where))
    problem = feature.check(value)
    if problem is not None:
        raise DataError(
            f"{where}: value {text.strip()!r} {problem.message}; allowed: {feature.allowed()}"
        )
    return value


def _parse_target(text: str, name: str, number: int) -> float:
    where = f"{name} line {number} column {N_COLUMNS} (num)"
    value = _number(text, where)
    if value not in (0, 1, 2, 3, 4):
        raise DataError(f"{where}: value {text.strip()!r} is not an allowed code: 0-4")
    return value


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {text.strip()!r} is not a number or '?'") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {text.strip()!r} is not a finite number")
    return value

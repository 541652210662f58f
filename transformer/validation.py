"""Patient records -> the contract's float32 matrix [N, 13], or every problem.

Pure functions (numpy and the contract only, no server): the transformer,
the Ray batch scorer and the load tests call the same code. Both entry
points collect *all* problems of a batch before failing, so that a client
fixes a request in one round trip. A value the contract lists as "not
measured" (``missing_values``, e.g. ``chol`` 0) is read as missing, as
training reads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from serving.problems import DEFAULT_MAX_ROWS, Problem, ValidationError
from transformer.contract import BY_NAME, FEATURE_NAMES, N_FEATURES, Feature


def records_to_matrix(
    records: Sequence[Mapping[str, object]], max_rows: int = DEFAULT_MAX_ROWS
) -> np.ndarray:
    """v1 records (one mapping per patient) as the float32 matrix [N, 13]."""
    problems = _batch_problems(len(records), max_rows)
    matrix = np.full((len(records), N_FEATURES), np.nan, dtype=np.float32)
    for row, record in enumerate(records[:max_rows] if not problems else []):
        if not isinstance(record, Mapping):
            problems.append(Problem(row, None, record, "each instance must be an object"))
            continue
        problems += _unknown_fields(record.keys(), row)
        for col, name in enumerate(FEATURE_NAMES):
            matrix[row, col] = _cell(BY_NAME[name], record.get(name), name in record, row, problems)
    _raise_if(problems)
    return matrix


def columns_to_matrix(
    columns: Mapping[str, Sequence[object]], max_rows: int = DEFAULT_MAX_ROWS
) -> np.ndarray:
    """v2 named columns (field -> one value per patient) as the matrix [N, 13]."""
    problems = _unknown_fields(columns.keys(), None)
    lengths = {name: len(values) for name, values in columns.items()}
    n = max(lengths.values(), default=0)
    if len(set(lengths.values())) > 1:
        shapes = ", ".join(f"{name}={size}" for name, size in lengths.items())
        problems.append(
            Problem(None, None, None, f"columns differ in length ({shapes})", kind="shape")
        )
    problems += _batch_problems(n, max_rows)
    for name in FEATURE_NAMES:
        if name not in columns and not BY_NAME[name].nullable:
            problems.append(_required(BY_NAME[name], None))
    _raise_if(problems)
    matrix = np.full((n, N_FEATURES), np.nan, dtype=np.float32)
    for col, name in enumerate(FEATURE_NAMES):
        for row, value in enumerate(columns.get(name, [None] * n)):
            matrix[row, col] = _cell(BY_NAME[name], value, True, row, problems)
    _raise_if(problems)
    return matrix


def _batch_problems(n: int, max_rows: int) -> list[Problem]:
    if n == 0:
        return [
            Problem(None, None, None, "the batch is empty: send at least one record", kind="batch")
        ]
    if n > max_rows:
        return [
            Problem(
                None,
                None,
                None,
                f"the batch has {n} records, the limit is {max_rows}",
                kind="batch",
            )
        ]
    return []


def _unknown_fields(names: Iterable[object], row: int | None) -> list[Problem]:
    known = ", ".join(FEATURE_NAMES)
    return [
        Problem(row, str(name), None, "is not a field of the contract", known, "unknown_field")
        for name in names
        if name not in BY_NAME
    ]


def _required(feature: Feature, row: int | None) -> Problem:
    return Problem(row, feature.name, None, "is required", feature.allowed(), "missing")


def _cell(
    feature: Feature, value: object, present: bool, row: int, problems: list[Problem]
) -> float:
    """The value as a float (NaN for missing); appends a Problem when it is not allowed."""
    if not present and not feature.nullable:
        problems.append(_required(feature, row))
        return math.nan
    number, wrong = _as_number(feature, value)
    if wrong:
        problems.append(Problem(row, feature.name, value, wrong, feature.allowed(), "wrong_type"))
        return number
    number = feature.normalize(number)
    violation = feature.check(number)
    if violation:
        problems.append(
            Problem(row, feature.name, value, violation.message, feature.allowed(), violation.kind)
        )
    return number


def _as_number(feature: Feature, value: object) -> tuple[float, str | None]:
    if value is None:
        return math.nan, None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        code = feature.code_for(value) if feature.kind == "categorical" else None
        if code is None:
            return math.nan, _wrong_text(feature)
        return float(code), None
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return math.nan, f"must be a number, not {type(value).__name__}"
    return float(value), None


def _wrong_text(feature: Feature) -> str:
    if feature.kind == "categorical":
        return "is not an allowed code or label"
    return "must be a number, not text"


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems)

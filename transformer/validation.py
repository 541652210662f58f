"""Patient records -> the contract's float32 matrix [N, 13], or every problem.

Pure functions (numpy and the contract only, no server): the transformer,
the Ray batch scorer and the load tests call the same code. Both entry
points collect *all* problems of a batch before failing, so that a client
fixes a request in one round trip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from transformer.contract import BY_NAME, FEATURE_NAMES, N_FEATURES, Feature

#: Default upper bound on the rows of one request (``--max_batch_size``).
DEFAULT_MAX_ROWS = 1024
#: Problems spelled out in an error message; the rest are counted.
REPORTED_PROBLEMS = 20
#: Longest value shown in a message (a client may send anything).
_VALUE_CHARS = 40


@dataclass(frozen=True)
class Problem:
    """One reason a request cannot be scored.

    ``row`` is the 0-based record index (``None`` for the whole request),
    ``field`` the contract field (``None`` when no single field is at fault).
    """

    row: int | None
    field: str | None
    value: object
    message: str
    allowed: str = ""

    def __str__(self) -> str:
        where = "request" if self.row is None else f"row {self.row}"
        what = f"field '{self.field}'" if self.field else "body"
        shown = "" if self.value is None else f" (got {self.shown_value()})"
        allowed = f"; allowed: {self.allowed}" if self.allowed else ""
        return f"{where}, {what}: {self.message}{shown}{allowed}"

    def shown_value(self) -> str:
        text = repr(self.value)
        return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 3] + "..."

    def to_dict(self) -> dict[str, object]:
        """For a JSON error body: the value as shown in the message (bounded)."""
        value = None if self.value is None else self.shown_value()
        return {"row": self.row, "field": self.field, "value": value,
                "message": self.message, "allowed": self.allowed}  # fmt: skip


class ValidationError(ValueError):
    """A request with one or more :class:`Problem`.

    ``problems`` holds every one of them; ``str()`` spells out the first
    :data:`REPORTED_PROBLEMS` and counts the rest.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(summarize(self.problems))

    def summary(self) -> str:
        return summarize(self.problems)


def summarize(problems: Sequence[Problem], limit: int = REPORTED_PROBLEMS) -> str:
    """ "N problems in the request: ..." with at most ``limit`` spelled out."""
    count = len(problems)
    head = f"{count} problem{'s' if count > 1 else ''} in the request"
    text = head + ": " + "; ".join(str(p) for p in problems[:limit])
    if count > limit:
        text += f"; and {count - limit} more problem{'s' if count - limit > 1 else ''}"
    return text


def redacted(problems: Sequence[Problem]) -> str:
    """Counts and field names only, for logs: never a value (patient data)."""
    fields = sorted({p.field for p in problems if p.field in BY_NAME})
    unknown = len({p.field for p in problems if p.field and p.field not in BY_NAME})
    rows = len({p.row for p in problems if p.row is not None})
    where = f" in {rows} row{'s' if rows != 1 else ''}" if rows else ""
    other = f" + {unknown} unknown" if unknown else ""
    return f"{len(problems)} problem(s){where}; fields: {', '.join(fields) or '-'}{other}"


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
        problems.append(Problem(None, None, None, f"columns differ in length ({shapes})"))
    problems += _batch_problems(n, max_rows)
    for name in FEATURE_NAMES:
        if name not in columns and not BY_NAME[name].nullable:
            problems.append(Problem(None, name, None, "is required", BY_NAME[name].allowed()))
    _raise_if(problems)
    matrix = np.full((n, N_FEATURES), np.nan, dtype=np.float32)
    for col, name in enumerate(FEATURE_NAMES):
        for row, value in enumerate(columns.get(name, [None] * n)):
            matrix[row, col] = _cell(BY_NAME[name], value, True, row, problems)
    _raise_if(problems)
    return matrix


def _batch_problems(n: int, max_rows: int) -> list[Problem]:
    if n == 0:
        return [Problem(None, None, None, "the batch is empty: send at least one record")]
    if n > max_rows:
        return [Problem(None, None, None, f"the batch has {n} records, the limit is {max_rows}")]
    return []


def _unknown_fields(names: object, row: int | None) -> list[Problem]:
    known = ", ".join(FEATURE_NAMES)
    return [
        Problem(row, str(name), None, "is not a field of the contract", known)
        for name in names  # type: ignore[attr-defined]
        if name not in BY_NAME
    ]


def _cell(
    feature: Feature, value: object, present: bool, row: int, problems: list[Problem]
) -> float:
    """The value as a float (NaN for missing); appends a Problem when it is not allowed."""
    if not present and not feature.nullable:
        problems.append(Problem(row, feature.name, None, "is required", feature.allowed()))
        return math.nan
    number, error = _as_number(feature, value)
    error = error or feature.check(number)
    if error:
        message = error.split(": allowed")[0]  # the allowed values go in their own field
        problems.append(Problem(row, feature.name, value, message, feature.allowed()))
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

"""Problems of a request, as records: where, what, why, and what is allowed.

Both servers and the batch scorer report bad input as a list of
:class:`Problem` and never stop at the first one, so that a client fixes a
request in one round trip. Messages spell out a bounded number of them;
logs get counts and the names of known fields only, never a value.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

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
    ``field`` the input or feature at fault (``None`` when no single field
    is), ``kind`` a bounded category (``missing``, ``out_of_range``,
    ``unknown_code``, ``wrong_type``, ``not_integer``, ``not_finite``,
    ``unknown_field``, ``shape``, ``batch``, ``body``) for metrics.
    """

    row: int | None
    field: str | None
    value: object
    message: str
    allowed: str = ""
    kind: str = "body"

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
        return {
            "row": self.row,
            "field": self.field,
            "value": value,
            "message": self.message,
            "allowed": self.allowed,
        }


class ValidationError(ValueError):
    """Input with one or more :class:`Problem` (raised by pure functions, no server).

    ``problems`` holds every one of them; ``str()`` spells out the first
    :data:`REPORTED_PROBLEMS` and counts the rest.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(summarize(self.problems))


def summarize(problems: Sequence[Problem], limit: int = REPORTED_PROBLEMS) -> str:
    """ "N problems in the request: ..." with at most ``limit`` spelled out."""
    count = len(problems)
    head = f"{count} problem{'s' if count > 1 else ''} in the request"
    text = head + ": " + "; ".join(str(p) for p in problems[:limit])
    if count > limit:
        text += f"; and {count - limit} more problem{'s' if count - limit > 1 else ''}"
    return text


def redacted(problems: Sequence[Problem], known: Collection[str]) -> str:
    """Counts and the names of ``known`` fields only, for logs: never a value.

    A field name that is not in ``known`` came from the caller and may be
    anything (patient data included): it is counted, not named.
    """
    fields = sorted({p.field for p in problems if p.field is not None and p.field in known})
    unknown = len({p.field for p in problems if p.field and p.field not in known})
    rows = len({p.row for p in problems if p.row is not None})
    where = f" in {rows} row{'s' if rows != 1 else ''}" if rows else ""
    other = f" + {unknown} unknown" if unknown else ""
    return f"{len(problems)} problem(s){where}; fields: {', '.join(fields) or '-'}{other}"

"""The request id: the caller's ``x-request-id`` (or v2 ``id``), or a new one.

One small helper, so that the way ids are taken, checked and made lives in
one place. A caller's id goes into our logs and to the predictor, so it is
kept only when it looks like an id (at most 128 characters from
``[A-Za-z0-9._:-]``); anything else is replaced by a generated id, never
logged.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

HEADER = "x-request-id"
_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def acceptable(value: object) -> bool:
    """Whether ``value`` may be used (and logged) as a request id."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def generate() -> str:
    return uuid.uuid4().hex


def choose(*candidates: object) -> str:
    """The first acceptable candidate, else a generated id."""
    for value in candidates:
        if acceptable(value):
            return str(value)
    return generate()


def from_headers(headers: Mapping[str, str] | None) -> str | None:
    """The ``x-request-id`` header as sent (``None`` when absent); check it with :func:`choose`."""
    if not headers:
        return None
    return headers.get(HEADER)

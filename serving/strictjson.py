"""Strict JSON for request bodies: bounded depth, valid UTF-8, no lone surrogates, float64 numbers.

Python's ``json`` recurses once per nesting level (a body nested 1,000 deep
is a ``RecursionError``), accepts lone surrogates (``"\\ud800"``, a string no
encoder can write back) and turns a 400-digit integer into an ``int`` no float
can hold. :func:`loads` refuses all of these with a :class:`BodyError` whose
problem names where in the body it is (``instances[0].age``,
``inputs[3].data[0]``: the input's name when it has one), before anything
else sees the body.

orjson parses first (fast, and already strict about UTF-8, surrogates, depth
and numbers); only a body it refuses is read again by the standard library,
guarded the same way, so that the ``NaN`` and ``Infinity`` literals Python's
and numpy's JSON writers produce keep working (``NaN`` = missing; the
contract refuses ``Infinity``, naming the field).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import orjson

from serving.limits import DEFAULT_MAX_DEPTH
from serving.problems import Problem

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LITERAL_CHARS = 40
_PATH_CHARS = 60


class BodyError(ValueError):
    """The body is not JSON this server reads; ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _UnrepresentableError(ValueError):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def loads(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The value of ``body``, or :class:`BodyError` naming the place at fault."""
    too_deep = _too_deep_at(body, max_depth)
    if too_deep is not None:
        message = f"nests arrays/objects deeper than {max_depth} levels"
        raise _error(body, too_deep, message, f"at most {max_depth} levels", "too_deep")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _guarded_stdlib(body)


def _too_deep_at(body: bytes, limit: int) -> int | None:
    """Byte offset (in ``body``) where nesting first passes ``limit``, else None."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return None
    bare = _STRING.sub(b'""', body)
    codes = np.frombuffer(bare, dtype=np.uint8)
    step = np.isin(codes, (91, 123)).astype(np.int32) - np.isin(codes, (93, 125))
    depth = np.cumsum(step)
    over = np.flatnonzero(depth > limit)
    if not len(over):
        return None
    return _offset_in_original(body, int(over[0]))


def _offset_in_original(body: bytes, index: int) -> int:
    """Map an offset in the strings-emptied body back to ``body``."""
    shift = 0
    for match in _STRING.finditer(body):
        start, end = match.span()
        if start - shift > index:
            break
        shift += (end - start) - 2
    return index + shift


def _guarded_stdlib(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = "is not valid UTF-8 text"
        raise _error(body, exc.start, message, "UTF-8 text", "encoding") from None
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float)
    except _UnrepresentableError as exc:
        where = _literal_offset(text, exc.literal)
        raise _text_error(text, where, _too_large(exc.literal), _FINITE, "too_large") from None
    except json.JSONDecodeError as exc:
        message = f"is malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        raise _text_error(text, exc.pos, message, "JSON (RFC 8259)", "malformed") from None
    if _SURROGATE_ESCAPE.search(text):
        _refuse_surrogates(value, [], text)
    return value


_FINITE = "numbers a float64 holds (|x| <= 1.8e308)"


def _too_large(literal: str) -> str:
    shown = literal if len(literal) <= _LITERAL_CHARS else literal[:_LITERAL_CHARS] + "..."
    return f"holds a number no float64 can ({len(literal)} characters: {shown})"


def _int(literal: str) -> int | float:
    if len(literal) <= 18:
        return int(literal)
    as_float = float(literal)
    if math.isinf(as_float):
        raise _UnrepresentableError(literal)
    return as_float


def _float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _UnrepresentableError(literal)
    return value


def _literal_offset(text: str, literal: str) -> int:
    """Where ``literal`` first stands as a number (outside strings) in ``text``."""
    pattern = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w.+-])' + re.escape(literal) + r"(?![\w.])")
    for match in pattern.finditer(text):
        if not match.group().startswith('"'):
            return match.start()
    return 0


def _refuse_surrogates(value: Any, path: list[str | int], text: str) -> None:
    """Raise for the first string (or key) holding a lone surrogate."""
    message = "holds a lone surrogate (\\ud800-\\udfff)"
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise BodyError(_problem(path, message, "encoding", "UTF-8 text", text))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_surrogates(item, [*path, i], text)
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                raise BodyError(_problem(path, "has a key that " + message, "encoding", "", text))
            _refuse_surrogates(item, [*path, key], text)


def _error(body: bytes, offset: int, message: str, allowed: str, kind: str) -> BodyError:
    text = body[:offset].decode("utf-8", "replace")
    return _text_error(text, len(text), message, allowed, kind, names=body)


def _text_error(
    text: str, offset: int, message: str, allowed: str, kind: str, *, names: bytes | str = ""
) -> BodyError:
    path = path_at(text, offset)
    return BodyError(_problem(path, message, kind, allowed, names or text))


def path_at(text: str, offset: int) -> list[str | int]:
    """The JSON path (keys and indices) of the value being read at ``offset``."""
    stack: list[list[Any]] = []  # [kind, key or index, expecting a key]
    for match in _TOKEN.finditer(text, 0, offset):
        token = match.group()
        if token in "{[":
            stack.append(["obj", None, True] if token == "{" else ["arr", 0, False])
        elif token in "]}" and stack:
            stack.pop()
        elif token == "," and stack:
            frame = stack[-1]
            if frame[0] == "arr":
                frame[1] += 1
            else:
                frame[2] = True
        elif token == ":" and stack:
            stack[-1][2] = False
        elif token.startswith('"') and stack and stack[-1][0] == "obj" and stack[-1][2]:
            stack[-1][1] = _key(token)
    return [frame[1] for frame in stack if frame[1] is not None]


def _key(token: str) -> str:
    """A key as text a response can carry (escaped as sent when it is not)."""
    try:
        key = str(json.loads(token))
    except ValueError:
        key = token[1:-1]
    if _SURROGATE.search(key):
        key = token[1:-1]
    return key[:_LITERAL_CHARS]


def _problem(
    path: list[str | int],
    message: str,
    kind: str,
    allowed: str = "",
    names: bytes | str = "",
) -> Problem:
    """A v1 row/field, a v2 input (by name when it has one) or a plain path."""
    if len(path) >= 2 and path[0] == "instances" and isinstance(path[1], int):
        field = path[2] if len(path) > 2 and isinstance(path[2], str) else None
        where = describe(path[3:] if field else path[2:])
        return Problem(path[1], field, None, f"{where} {message}".strip(), allowed, kind)
    if len(path) >= 2 and path[0] == "inputs" and isinstance(path[1], int):
        name = _input_name(names, path[1])
        if name:
            where = describe(path[2:])
            return Problem(None, name, None, f"{where} {message}".strip(), allowed, kind)
        return Problem(None, describe(path), None, message, allowed, kind)
    return Problem(None, describe(path) or None, None, message, allowed, kind)


def describe(path: list[str | int]) -> str:
    """``["inputs", 3, "data", 0]`` -> ``inputs[3].data[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text if len(text) <= _PATH_CHARS else text[: _PATH_CHARS - 3] + "..."


def _input_name(body: bytes | str, index: int) -> str:
    """The ``name`` of ``inputs[index]`` when a lenient read of the body finds one."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        value = json.loads(raw, parse_int=float, parse_constant=float)
        name = value["inputs"][index]["name"]
    except (ValueError, RecursionError, LookupError, TypeError):
        return ""
    if not isinstance(name, str) or _SURROGATE.search(name):
        return ""
    return name[:_LITERAL_CHARS]

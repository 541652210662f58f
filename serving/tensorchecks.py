"""Tensor declarations checked before KServe decodes them: gRPC requests, REST binary headers.

KServe's ``InferRequest.from_grpc`` and ``InferRequest.from_bytes`` trust
what they are given: an input without ``datatype`` or ``name`` is a
``KeyError``, a ``binary_data_size`` that is text a ``TypeError``, raw bytes
that are not a multiple of the element size a ``ValueError``, a BYTES element
that is not UTF-8 an ``InferenceError`` whose message quotes the value. Each
is a 500 (gRPC ``INTERNAL``). The functions here find all of that first and
raise :class:`serving.errors.InvalidRequestError` (400 / ``INVALID_ARGUMENT``)
naming the input: every datatype known, every shape a list of non-negative
integers whose product the data matches (elements in ``contents``, bytes in
raw data), every BYTES element UTF-8, raw contents only where allowed.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from serving.errors import InvalidRequestError
from serving.problems import Problem

#: Bytes per element of each v2 datatype (BYTES: length-prefixed, variable).
ELEMENT_BYTES = {
    "BOOL": 1,
    "UINT8": 1,
    "UINT16": 2,
    "UINT32": 4,
    "UINT64": 8,
    "INT8": 1,
    "INT16": 2,
    "INT32": 4,
    "INT64": 8,
    "FP16": 2,
    "FP32": 4,
    "FP64": 8,
    "BYTES": 0,
}
_DATATYPES = ", ".join(ELEMENT_BYTES)
#: Most elements one tensor may declare (shape product).
MAX_ELEMENTS = 1 << 26
#: gRPC ``contents`` field of each datatype (``InferTensorContents``).
CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def _problem(name: str, message: str, allowed: str = "", value: object = None) -> Problem:
    return Problem(None, name or "(unnamed input)", value, message, allowed, "shape")


def declared(name: object, datatype: object, shape: object) -> tuple[list[Problem], int]:
    """Problems of an input's name, datatype and shape, and its element count."""
    label = name if isinstance(name, str) else ""
    problems = []
    if not isinstance(name, str) or not name:
        problems.append(_problem(label, "has no name", "a non-empty string"))
    if datatype not in ELEMENT_BYTES:
        shown = datatype if isinstance(datatype, str) else None
        problems.append(_problem(label, "has an unknown datatype", _DATATYPES, shown))
    sizes = list(shape) if isinstance(shape, Sequence) and not isinstance(shape, str) else None
    if sizes is None or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in sizes
    ):
        allowed = "a list of integers >= 0"
        problems.append(_problem(label, "has a shape that is not a list of sizes", allowed))
        return problems, 0
    count = math.prod(sizes)
    if count > MAX_ELEMENTS:
        problems.append(_problem(label, f"declares {count} elements", f"at most {MAX_ELEMENTS}"))
    return problems, count


def raw_problems(name: str, datatype: str, count: int, raw: bytes) -> list[Problem]:
    """Raw (binary) data of an input against its datatype and element count."""
    size = ELEMENT_BYTES.get(datatype)
    if size is None:
        return []
    if size:
        if len(raw) != count * size:
            message = f"has {len(raw)} bytes of data, shape and {datatype} need {count * size}"
            return [_problem(name, message, f"{size} bytes per element")]
        return []
    return bytes_problems(name, count, raw)


def bytes_problems(name: str, count: int, raw: bytes) -> list[Problem]:
    """BYTES raw data: ``count`` elements, each a 4-byte little-endian length and UTF-8 text."""
    offset, found = 0, 0
    allowed = "elements as a 4-byte little-endian length, then that many bytes of UTF-8"
    while offset < len(raw):
        if offset + 4 > len(raw):
            return [_problem(name, "has BYTES data that ends inside a length prefix", allowed)]
        (length,) = struct.unpack_from("<I", raw, offset)
        element = raw[offset + 4 : offset + 4 + length]
        if len(element) != length:
            return [_problem(name, "has a BYTES element longer than the data", allowed)]
        if not _utf8(element):
            return [_problem(name, f"element {found} is not UTF-8 text", "UTF-8 text")]
        offset += 4 + length
        found += 1
    if found != count:
        return [_problem(name, f"has {found} BYTES elements, its shape needs {count}", allowed)]
    return []


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_grpc(request: Any) -> None:
    """A gRPC ``ModelInferRequest``: raise :class:`InvalidRequestError` listing every problem."""
    problems: list[Problem] = []
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        message = f"{len(raw)} raw_input_contents for {len(request.inputs)} inputs"
        problems.append(Problem(None, None, None, message, "one per input, in order", "shape"))
    for i, tensor in enumerate(request.inputs):
        found, count = declared(tensor.name, tensor.datatype, list(tensor.shape))
        problems += found
        if found:
            continue
        if raw and i < len(raw):
            problems += _raw_only(tensor)
            problems += raw_problems(tensor.name, tensor.datatype, count, raw[i])
        else:
            problems += _contents_problems(tensor, count)
    if problems:
        raise InvalidRequestError(problems)


def _raw_only(tensor: Any) -> list[Problem]:
    if tensor.HasField("contents"):
        return [_problem(tensor.name, "has both contents and raw_input_contents", "one of them")]
    return []


def _contents_problems(tensor: Any, count: int) -> list[Problem]:
    field = CONTENTS_FIELD.get(tensor.datatype)
    if field is None:  # FP16 travels only as raw data
        return [_problem(tensor.name, f"{tensor.datatype} needs raw_input_contents")]
    contents = tensor.contents
    others = [f.name for f, _ in contents.ListFields() if f.name != field]
    if others:
        return [_problem(tensor.name, f"has {', '.join(others)} for {tensor.datatype}", field)]
    values = getattr(contents, field)
    if len(values) != count:
        message = f"has {len(values)} values, shape {list(tensor.shape)} needs {count}"
        return [_problem(tensor.name, message)]
    if tensor.datatype == "BYTES":
        bad = [j for j, v in enumerate(values) if not _utf8(v)]
        if bad:
            return [_problem(tensor.name, f"element {bad[0]} is not UTF-8 text", "UTF-8 text")]
    return []


def check_binary_header(header: object, binary_length: int) -> None:
    """The JSON header of a REST binary-extension request, against the bytes after it.

    Every input needs a name, a datatype and a shape, and either ``data`` or
    ``parameters.binary_data_size`` (a non-negative integer); the sizes must
    add up to exactly the bytes after the header, each matching its shape.
    """
    inputs = header.get("inputs") if isinstance(header, Mapping) else None
    if not isinstance(inputs, list) or not all(isinstance(t, Mapping) for t in inputs):
        problem = Problem(None, "inputs", None, "must be a list of objects", "", "shape")
        raise InvalidRequestError([problem])
    problems = _structure(header)  # type: ignore[arg-type]
    total = 0
    for tensor in inputs:
        name = tensor.get("name")
        found, count = declared(name, tensor.get("datatype"), tensor.get("shape"))
        problems += found
        size = _binary_size(tensor)
        if isinstance(size, Problem):
            problems.append(size)
        elif size is not None and not found:
            total += size
            problems += _binary_shape(str(name), str(tensor["datatype"]), count, size)
    if not problems and total != binary_length:
        message = f"binary_data_size adds up to {total} bytes, the body has {binary_length}"
        problems.append(Problem(None, None, None, message, "the exact length", "shape"))
    if problems:
        raise InvalidRequestError(problems)


def _structure(header: Mapping[str, Any]) -> list[Problem]:
    """KServe's own v2 request model on the header (binary inputs get placeholder data)."""
    from kserve.protocol.rest.v2_datamodels import InferenceRequest
    from pydantic import ValidationError

    inputs = [{"data": [], **t} if t.get("data") is None else t for t in header["inputs"]]
    try:
        InferenceRequest.model_validate({**header, "inputs": inputs})
    except ValidationError as exc:
        return [
            Problem(None, _where(error["loc"]), None, error["msg"], "", "shape")
            for error in exc.errors()[:20]
        ]
    return []


def _where(loc: Sequence[object]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _binary_size(tensor: Mapping[str, Any]) -> int | Problem | None:
    name = str(tensor.get("name")) if isinstance(tensor.get("name"), str) else ""
    parameters = tensor.get("parameters")
    has_data = tensor.get("data") is not None
    size = parameters.get("binary_data_size") if isinstance(parameters, Mapping) else None
    if size is None:
        if has_data:
            return None
        return _problem(name, "has neither data nor parameters.binary_data_size")
    if has_data:
        return _problem(name, "has both data and binary_data_size", "one of them")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return _problem(name, "has a binary_data_size that is not a byte count", "an integer >= 0")
    return size


def _binary_shape(name: str, datatype: str, count: int, size: int) -> list[Problem]:
    width = ELEMENT_BYTES[datatype]
    if width and size != count * width:
        message = f"binary_data_size {size}, shape and {datatype} need {count * width}"
        return [_problem(name, message, f"{width} bytes per element")]
    return []


def check_binary_data(header: Mapping[str, Any], data: bytes) -> None:
    """BYTES inputs of a binary request: element count and UTF-8 (after the header's check)."""
    offset = 0
    problems: list[Problem] = []
    for tensor in header["inputs"]:
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is None:
            continue
        if tensor["datatype"] == "BYTES":
            count = math.prod(tensor["shape"])
            problems += bytes_problems(tensor["name"], count, data[offset : offset + size])
        offset += size
    if problems:
        raise InvalidRequestError(problems)

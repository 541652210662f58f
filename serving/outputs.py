"""v2 responses encoded as the client asked: JSON, the binary tensor extension, gRPC raw.

Both servers build their v2 answers with :func:`response`. It keeps the
outputs the request names (all of them, in the model's order, when it names
none) and encodes each one:

- gRPC: always ``raw_output_contents``, numeric and BYTES alike. The proto
  says raw contents go for every output or none, and tritonclient's
  ``InferResult.as_numpy`` reads only raw contents for numeric tensors
  (KServe's ``get_predict_response`` answers raw for the same reason).
- REST: binary (after the JSON header, ``binary_data_size`` in the output's
  parameters, ``inference-header-content-length`` on the response) when the
  output's ``parameters.binary_data`` is true, or when it is absent and the
  request's ``parameters.binary_data_output`` is true; JSON ``data``
  otherwise. That is the binary tensor data extension (tritonclient asks
  for it by default).

The response ``id`` is the request's (:mod:`serving.request_id`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse, RequestedOutput

from serving import request_id
from serving.errors import InvalidRequestError
from serving.problems import Problem


@dataclass(frozen=True)
class Tensor:
    """One output of a model: its v2 datatype and values (numbers, or text for BYTES)."""

    datatype: str
    values: np.ndarray


def wanted(request: InferRequest, available: Sequence[str]) -> list[str]:
    """The outputs ``request`` asks for (all, in ``available`` order, when it names none)."""
    names = [o.name for o in request.request_outputs or []]
    unknown = [n for n in names if n not in available]
    if unknown:
        message = f"unknown outputs {unknown}: this model returns {list(available)}"
        raise InvalidRequestError([Problem(None, None, None, message, ", ".join(available))])
    return names or list(available)


def _flag(value: object) -> bool | None:
    """A boolean REST parameter (None when not given)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise InvalidInput(f"binary data parameters must be true or false, not {value!r}")


def _parameter(parameters: Any, key: str) -> bool | None:
    return _flag(parameters.get(key)) if parameters else None


def binary(request: InferRequest, name: str) -> bool:
    """Whether output ``name`` goes raw/binary for ``request`` (see the module docstring)."""
    if request.from_grpc:
        return True
    for output in request.request_outputs or []:
        if output.name == name:
            own = _parameter(output.parameters, "binary_data")
            if own is not None:
                return own
    return bool(_parameter(request.parameters, "binary_data_output"))


def response(
    request: InferRequest,
    tensors: Mapping[str, Tensor],
    *,
    model_name: str,
    model_version: str | None,
    parameters: dict[str, Any] | None = None,
) -> InferResponse:
    """The v2 response to ``request`` holding the outputs it asks for, encoded as it asks."""
    outputs: list[InferOutput] = []
    requested: list[RequestedOutput] = []
    for name in wanted(request, list(tensors)):
        tensor = tensors[name]
        raw = binary(request, name)
        values = tensor.values.astype(object) if tensor.datatype == "BYTES" else tensor.values
        output = InferOutput(name, list(values.shape), tensor.datatype)
        output.set_data_from_numpy(values, binary_data=raw)
        if request.from_grpc and output.parameters:  # REST's binary_data_size is no gRPC field
            output.parameters.pop("binary_data_size", None)
        outputs.append(output)
        requested.append(RequestedOutput(name, {"binary_data": raw}))
    return InferResponse(
        response_id=request.id or request_id.current() or request_id.new(),
        model_name=model_name,
        model_version=model_version or None,
        infer_outputs=outputs,
        parameters=parameters,
        requested_outputs=requested,
    )

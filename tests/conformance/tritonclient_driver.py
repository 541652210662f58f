"""Runs NVIDIA's tritonclient (HTTP and gRPC) against one server; a subprocess of the tests.

Run by ``.venv-tritonclient/bin/python`` (``make tritonclient-venv``), never
imported by pytest: tritonclient's gRPC stubs and KServe's register the same
``inference.*`` protobuf symbols. Reads ``{"http": "host:port", "grpc":
"host:port", "model": "heart", "calls": [{"label": ..., "op": ..., ...}]}``
on stdin and prints ``{label: result}`` as JSON; a call that raises gives
``{"error": message}``. Only tritonclient's public API is used, as its
documentation shows (docs.nvidia.com/deeplearning/triton-inference-server,
"Triton Client Libraries"; tritonclient/http/_client.py, grpc/_client.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient


def _array(spec: dict[str, Any]) -> np.ndarray:
    if spec["datatype"] == "BYTES":
        values = [str(v).encode() for v in spec["data"]]
        return np.array(values, dtype=np.object_).reshape(spec["shape"])
    dtype = {"FP32": np.float32, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64}
    data = [np.nan if v is None else v for v in spec["data"]]
    return np.array(data, dtype=dtype[spec["datatype"]]).reshape(spec["shape"])


def _plain(array: np.ndarray | None) -> Any:
    if array is None:
        return None
    if array.dtype == np.object_:
        return [v.decode() if isinstance(v, bytes) else v for v in array.reshape(-1).tolist()]
    return array.reshape(-1).tolist()


def _infer(module: Any, client: Any, model: str, call: dict[str, Any]) -> dict[str, Any]:
    inputs = []
    for spec in call["inputs"]:
        tensor = module.InferInput(spec["name"], spec["shape"], spec["datatype"])
        if module is httpclient:
            tensor.set_data_from_numpy(_array(spec), binary_data=call.get("binary_inputs", True))
        else:
            tensor.set_data_from_numpy(_array(spec))
        inputs.append(tensor)
    outputs = None
    if call.get("outputs") is not None:
        if module is httpclient:
            outputs = [
                httpclient.InferRequestedOutput(o["name"], binary_data=o.get("binary", False))
                for o in call["outputs"]
            ]
        else:
            outputs = [grpcclient.InferRequestedOutput(o["name"]) for o in call["outputs"]]
    result = client.infer(
        model,
        inputs,
        outputs=outputs,
        request_id=call.get("request_id", ""),
        model_version=call.get("model_version", ""),
    )
    if module is httpclient:
        response = result.get_response()
        raw_count = None
    else:
        response = result.get_response(as_json=True)
        raw_count = len(result.get_response().raw_output_contents)
        response.pop("raw_output_contents", None)
    names = [o["name"] for o in response.get("outputs", [])]
    return {
        "outputs": {name: _plain(result.as_numpy(name)) for name in names},
        "response": response,
        "raw_count": raw_count,
    }


def _call(module: Any, client: Any, model: str, call: dict[str, Any]) -> Any:
    op = call["op"]
    grpc = module is grpcclient
    version = call.get("model_version", "")
    if op == "server":
        metadata = client.get_server_metadata(**({"as_json": True} if grpc else {}))
        return {
            "live": client.is_server_live(),
            "ready": client.is_server_ready(),
            "metadata": metadata,
        }
    if op == "model_metadata":
        kwargs = {"as_json": True} if grpc else {}
        return client.get_model_metadata(model, model_version=version, **kwargs)
    if op == "model_ready":
        return client.is_model_ready(model, model_version=version)
    if op == "infer":
        return _infer(module, client, model, call)
    raise ValueError(f"unknown op {op}")


def main() -> None:
    job = json.load(sys.stdin)
    clients = {
        "http": (httpclient, httpclient.InferenceServerClient(job["http"])),
        "grpc": (grpcclient, grpcclient.InferenceServerClient(job["grpc"])),
    }
    results: dict[str, Any] = {}
    for call in job["calls"]:
        module, client = clients[call["protocol"]]
        try:
            results[call["label"]] = _call(module, client, job["model"], call)
        except Exception as exc:  # reported to the test, which asserts on it
            results[call["label"]] = {"error": f"{type(exc).__name__}: {exc}"}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

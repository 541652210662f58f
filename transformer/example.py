"""Example client: one v2 REST and one gRPC request through the transformer.

``python -m transformer.example --url http://127.0.0.1:8080 --grpc_address 127.0.0.1:8081``
waits (bounded) for readiness, scores two example patients (v2
REST over plain HTTP, gRPC with KServe's ``InferenceGRPCClient``), prints a
readable result and the raw v2 JSON, and exits non-zero on any failure.
Used by ``make predict`` and ``make demo``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Sequence

import httpx
import orjson
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.infer_type import InferResponse

from transformer.contract import FEATURE_NAMES

#: Two patients; ``None`` = not measured (the Pipeline imputes it).
PATIENTS: list[dict[str, object]] = [
    {
        "age": 63,
        "sex": "male",
        "cp": "asymptomatic",
        "trestbps": 145,
        "chol": 233,
        "fbs": 1,
        "restecg": 2,
        "thalach": 150,
        "exang": 0,
        "oldpeak": 2.3,
        "slope": 3,
        "ca": 0,
        "thal": 6,
    },
    {
        "age": 41,
        "sex": "female",
        "cp": "atypical angina",
        "trestbps": 130,
        "chol": 204,
        "fbs": 0,
        "restecg": 2,
        "thalach": 172,
        "exang": 0,
        "oldpeak": 1.4,
        "slope": 1,
        "ca": None,
        "thal": 3,
    },
]


def request(patients: Sequence[dict[str, object]], model: str) -> InferRequest:
    """One input per field: BYTES for labels given as text, FP64 otherwise (NaN = missing)."""
    inputs = []
    for name in FEATURE_NAMES:
        values = [p.get(name) for p in patients]
        text = any(isinstance(v, str) for v in values)
        tensor = InferInput(name, [len(values)], "BYTES" if text else "FP64")
        tensor.data = [str(v) if text else math.nan if v is None else v for v in values]
        inputs.append(tensor)
    return InferRequest(model_name=model, infer_inputs=inputs, request_id="example")


def wait_ready(url: str, model: str, timeout: float) -> None:
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/v2/models/{model}/ready", timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise SystemExit(f"not ready after {timeout:.0f} s: {last}")


def readable(title: str, response: InferResponse) -> str:
    out = {o.name: o.as_numpy().tolist() for o in response.outputs}
    version = response.model_version or (response.parameters or {}).get("model_version", "-")
    lines = [f"{title} (model version {version}):"]
    for i, (risk, raw) in enumerate(zip(out["risk"], out["label"], strict=True)):
        label = raw.decode() if isinstance(raw, bytes) else raw
        lines.append(f"  patient {i + 1}: risk of heart disease {risk:6.1%} -> {label}")
    return "\n".join(lines)


def over_rest(url: str, model: str) -> InferResponse:
    """Plain HTTP, so that the printed JSON is exactly what went over the wire."""
    body = orjson.dumps(request(PATIENTS, model).to_rest()[0])  # NaN -> null
    print("v2 REST request:", body.decode(), sep="\n")
    response = httpx.post(
        f"{url}/v2/models/{model}/infer",
        content=body,
        timeout=15,
        headers={"content-type": "application/json"},
    )
    print(f"v2 REST response ({response.status_code}):", response.text, sep="\n")
    response.raise_for_status()
    return InferResponse.from_rest(response.json())


async def over_grpc(address: str, model: str) -> InferResponse:
    client = InferenceGRPCClient(address, timeout=15, retries=0)
    try:
        return await client.infer(request(PATIENTS, model))
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="transformer REST base URL")
    parser.add_argument(
        "--grpc_address", default="", help="transformer gRPC host:port (skip when empty)"
    )
    parser.add_argument("--model_name", default="heart")
    parser.add_argument("--wait", type=float, default=0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    if args.wait:
        wait_ready(args.url, args.model_name, args.wait)
    try:
        print(readable("\nv2 REST", over_rest(args.url, args.model_name)))
        if args.grpc_address:
            print(readable("gRPC", asyncio.run(over_grpc(args.grpc_address, args.model_name))))
    except Exception as exc:  # a failed demo step: say what and exit non-zero
        print(f"request failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

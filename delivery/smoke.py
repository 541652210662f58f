"""Smoke requests through the cluster ingress, with each component's Host.

    python -m delivery.smoke --namespace heart --name heart --ingress 127.0.0.1:8080

v2 REST to the transformer (patient records as named columns, one input per
contract field) and v2 gRPC to the predictor (the FP32 [N,13] tensor). The
hosts come from the InferenceService's status, as the ingress routes them.
Rows are generated from the feature contract. Each reply must carry the
expected outputs with one value per row, every risk/probability in [0, 1]
and every label one the service defines (:mod:`delivery.smoke_checks`);
exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlparse

from delivery.smoke_checks import PREDICTOR_OUTPUTS, TRANSFORMER_OUTPUTS, check, v2_outputs
from transformer.contract import FEATURES
from transformer.synthetic import generate


@dataclass(frozen=True)
class Hosts:
    transformer: str  # the InferenceService's top-level host (status.url)
    predictor: str  # status.components.predictor.url


def hosts_from_status(isvc: dict[str, Any]) -> Hosts:
    status = isvc.get("status", {})
    top = urlparse(status.get("url", "")).hostname
    predictor = urlparse(status.get("components", {}).get("predictor", {}).get("url", "")).hostname
    if not top or not predictor:
        raise RuntimeError("the InferenceService reports no URL yet: is it Ready?")
    return Hosts(top, predictor)


def v2_named_columns(rows: int, seed: int = 0) -> dict[str, Any]:
    """A v2 request with one FP32 input per contract field, rows complete."""
    matrix = generate(rows, seed=seed)
    inputs = [
        {"name": f.name, "shape": [rows], "datatype": "FP32", "data": matrix[:, i].tolist()}
        for i, f in enumerate(FEATURES)
    ]
    return {"inputs": inputs}


def rest_infer(ingress: str, host: str, model: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://{ingress}/v2/models/{model}/infer",
        data=json.dumps(body).encode(),
        headers={"Host": host, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def grpc_infer(ingress: str, host: str, model: str, rows: int) -> dict[str, list[Any]]:
    """ModelInfer with the FP32 [rows,13] tensor; returns each output's values."""
    import grpc
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc
    from kserve.protocol.infer_type import InferResponse

    matrix = generate(rows, seed=1)
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="input-0",
        datatype="FP32",
        shape=list(matrix.shape),
        contents=pb.InferTensorContents(fp32_contents=matrix.ravel().tolist()),
    )
    request = pb.ModelInferRequest(model_name=model, inputs=[tensor])
    options = [("grpc.default_authority", host)]
    with grpc.insecure_channel(ingress, options=options) as channel:
        reply = pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=30)
    decoded = InferResponse.from_grpc(reply)
    return {o.name: o.as_numpy().reshape(-1).tolist() for o in decoded.outputs}


def read_isvc(name: str, namespace: str) -> dict[str, Any]:
    from kubernetes import client, config

    config.load_kube_config()
    api = client.CustomObjectsApi()
    isvc = api.get_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices", name
    )
    return cast(dict[str, Any], isvc)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.smoke", description=__doc__)
    parser.add_argument("--name", default="heart")
    parser.add_argument("--namespace", default="heart")
    parser.add_argument("--model-name", default="heart", help="the served model name")
    parser.add_argument("--ingress", default="127.0.0.1:8080", help="HOST:PORT of the ingress")
    parser.add_argument("--rows", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        hosts = hosts_from_status(read_isvc(args.name, args.namespace))
        reply = rest_infer(
            args.ingress, hosts.transformer, args.model_name, v2_named_columns(args.rows)
        )
        who = f"REST v2 {hosts.transformer}"
        print(check(v2_outputs(reply), args.rows, TRANSFORMER_OUTPUTS, who))
        outputs = grpc_infer(args.ingress, hosts.predictor, args.model_name, args.rows)
        print(check(outputs, args.rows, PREDICTOR_OUTPUTS, f"gRPC v2 {hosts.predictor}"))
    except Exception as exc:
        print(f"smoke failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make smoke`'s requests and checks against the real transformer and
predictor processes (the same calls it sends through the kind ingress, with
the Host header / gRPC authority the ingress routes on)."""

from __future__ import annotations

import pytest

from delivery.smoke import grpc_infer, rest_infer, v2_named_columns
from delivery.smoke_checks import PREDICTOR_OUTPUTS, TRANSFORMER_OUTPUTS, check, v2_outputs
from tests.integration.serving_fixtures import Server

pytestmark = pytest.mark.integration


def test_rest_through_the_transformer_passes_the_checks(transformer_grpc: Server) -> None:
    ingress = f"127.0.0.1:{transformer_grpc.http_port}"
    reply = rest_infer(ingress, "heart.heart.example.com", "heart", v2_named_columns(5))
    outputs = v2_outputs(reply)
    summary = check(outputs, 5, TRANSFORMER_OUTPUTS, "REST")
    assert summary.startswith("REST: 5 rows")
    assert all(0.0 <= r <= 1.0 for r in outputs["risk"])


def test_grpc_to_the_predictor_passes_the_checks(predictor: Server) -> None:
    outputs = grpc_infer(predictor.grpc, "heart-predictor.heart.example.com", "heart", 4)
    check(outputs, 4, PREDICTOR_OUTPUTS, "gRPC")
    assert set(outputs["label"]) <= {0, 1} and len(outputs["probability"]) == 4

"""The predictor's address as KServe passes it, retries, messages without the address."""

from __future__ import annotations

import json

import grpc
import httpx
import pytest
from grpc import aio

from transformer.client import GrpcPredictor, RestPredictor
from transformer.client_errors import PredictorRejectedError, PredictorUnavailableError, from_grpc
from transformer.settings import TransformerSettings, predictor_address

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("host", "use_ssl", "expected"),
    [
        ("heart-predictor.heart", False, "heart-predictor.heart:80"),  # what KServe passes
        ("heart-predictor.heart", True, "heart-predictor.heart:443"),
        ("127.0.0.1:8085", False, "127.0.0.1:8085"),
        ("[::1]", False, "[::1]:80"),
        ("[::1]:9000", True, "[::1]:9000"),
    ],
)
def test_predictor_address_gets_the_default_port(host: str, use_ssl: bool, expected: str) -> None:
    assert predictor_address(host, use_ssl) == expected


@pytest.mark.parametrize("host", ["http://p:80", "p:80/v2", "", "p:port"])
def test_predictor_address_refuses_urls(host: str) -> None:
    with pytest.raises(ValueError):
        predictor_address(host)
    with pytest.raises(SystemExit):
        TransformerSettings.parse(["--predictor_host", host])


def test_both_clients_dial_port_80_for_a_bare_service_name() -> None:
    grpc_client = GrpcPredictor("heart-predictor.heart", timeout=1)
    assert grpc_client.target == "heart-predictor.heart:80"  # not gRPC's default 443
    rest = RestPredictor("heart-predictor.heart", timeout=1)
    assert rest.base_url == "http://heart-predictor.heart:80"
    url = httpx.URL(rest.base_url).join("/v2/models/heart/infer")
    assert (url.scheme, url.host, url.port) == ("http", "heart-predictor.heart", None)  # 80
    secure = RestPredictor("heart-predictor.heart", timeout=1, use_ssl=True)
    assert secure.base_url == "https://heart-predictor.heart:443"


def test_retries_flag_reaches_both_clients() -> None:
    retries = ["--predictor_request_retries", "2"]
    s = TransformerSettings.parse(
        ["--predictor_host", "p", "--predictor_protocol", "grpc-v2", *retries]
    )
    assert s.retries == 2
    options = dict(GrpcPredictor(s.predictor_host, 1, s.retries).channel_options())
    policy = json.loads(options["grpc.service_config"])["methodConfig"][0]["retryPolicy"]
    assert options["grpc.enable_retries"] == 1 and policy["maxAttempts"] == 3
    assert dict(GrpcPredictor("p", 1, 0).channel_options())["grpc.enable_retries"] == 0
    assert RestPredictor("p", 1, retries=2).retries == 2


def rpc_error(code: grpc.StatusCode, details: str) -> aio.AioRpcError:
    return aio.AioRpcError(code, aio.Metadata(), aio.Metadata(), details=details)


def test_grpc_errors_never_name_the_predictor_address() -> None:
    target = "heart-predictor.heart:80"
    down = from_grpc(
        rpc_error(
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses;"
            " last error: UNKNOWN: ipv4:10.96.3.7:80: Connection refused",
        ),
        target,
    )
    assert isinstance(down, PredictorUnavailableError)
    assert down.reason == "the predictor is unreachable (UNAVAILABLE)"
    bad_row = rpc_error(grpc.StatusCode.INVALID_ARGUMENT, f"bad row at {target}")
    rejected = from_grpc(bad_row, target)
    assert isinstance(rejected, PredictorRejectedError)
    assert target not in rejected.reason and "bad row" in rejected.reason
    not_ready = from_grpc(rpc_error(grpc.StatusCode.UNAVAILABLE, "model heart not ready"), target)
    assert not_ready.reason == "the predictor answered UNAVAILABLE: model heart not ready"

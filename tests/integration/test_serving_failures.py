"""Failure modes with real processes: predictor down or hung, tampered model, skewed contract."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.conftest import free_port
from tests.integration.serving_fixtures import (
    Server,
    grpc_infer,
    predictor_server,
    transformer_server,
    wait_for,
)
from transformer.contract import FEATURE_NAMES
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.integration

FAST_CHECK = [
    "--contract_check_interval_seconds",
    "0.5",
    "--predictor_request_timeout_seconds",
    "2",
]
ONE = {"instances": to_records(generate(1, seed=5))}


def model_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture
def started() -> Iterator[list[Server]]:
    """Servers a test starts; all stopped afterwards, whatever happens."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        server.stop()


def grpc_code(address: str) -> grpc.StatusCode:
    request = InferRequest(model_name="heart", infer_inputs=[])
    for name, value in (("age", 50.0), ("sex", 1.0), ("cp", 2.0)):
        tensor = InferInput(name, [1], "FP32")
        tensor.data = [value]
        request.inputs.append(tensor)

    async def call() -> grpc.StatusCode:
        client = InferenceGRPCClient(address, timeout=10, retries=0)
        try:
            await client.infer(request)
            return grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        finally:
            await client.close()

    return asyncio.run(call())


def test_predictor_down_then_back(synthetic_model_dir, serving_logs, started) -> None:
    pred = predictor_server(synthetic_model_dir, serving_logs).start()
    started.append(pred)
    pred.wait_ready()
    rest = transformer_server(f"127.0.0.1:{pred.http_port}", "v2", serving_logs, FAST_CHECK)
    grpc_t = transformer_server(pred.grpc, "grpc-v2", serving_logs, FAST_CHECK)
    started.extend([rest.start(), grpc_t.start()])
    rest.wait_ready()
    grpc_t.wait_ready()
    assert rest.post("/v1/models/heart:predict", json=ONE).status_code == 200

    pred.stop()
    began = time.monotonic()
    down = rest.post("/v1/models/heart:predict", json=ONE)
    assert down.status_code == 503
    assert "predictor" in down.json()["error"]
    assert grpc_code(grpc_t.grpc) == grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - began < 10
    assert wait_for(lambda: rest.get("/v2/models/heart/ready").status_code == 503, 5)

    pred.start().wait_ready()  # same ports: the transformers recover without a restart
    ok = lambda: rest.post("/v1/models/heart:predict", json=ONE).status_code == 200  # noqa: E731
    assert wait_for(ok, 15)
    assert wait_for(lambda: grpc_code(grpc_t.grpc) == grpc.StatusCode.OK, 15)
    assert rest.get("/v2/models/heart/ready").status_code == 200


def test_hung_predictor_gives_503_within_the_timeout(serving_logs, started) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port()))
    silent.listen(16)  # accepts connections, never answers
    try:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        extra = ["--predictor_request_timeout_seconds", "1"]
        rest = transformer_server(address, "v2", serving_logs, extra).start()
        started.append(rest)
        rest.wait_live()
        began = time.monotonic()
        response = rest.post("/v1/models/heart:predict", json=ONE)
        assert response.status_code == 503
        assert time.monotonic() - began < 6
        assert "predictor" in response.json()["error"]
    finally:
        silent.close()


@pytest.mark.parametrize("engine", ["onnx", "sklearn"])
def test_tampered_model_is_refused(synthetic_model_dir, tmp_path, serving_logs, started, engine):
    """The file the engine loads gained a byte: never loaded, one log line, 503 everywhere."""
    name = {"onnx": "model.onnx", "sklearn": "model.joblib"}[engine]
    model = model_copy(synthetic_model_dir, tmp_path / "model")
    with (model / name).open("ab") as handle:
        handle.write(b"\0")
    pred = predictor_server(model, serving_logs, ["--engine", engine]).start()
    started.append(pred)
    pred.wait_live()
    ready = pred.get("/v2/models/heart/ready")
    assert ready.status_code == 503
    assert "sha256" in ready.json()["error"]
    assert pred.get("/v2/health/ready").status_code == 503
    body = {
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 13], "data": [1] * 13}]
    }
    assert pred.post("/v2/models/heart/infer", json=body).status_code == 503
    lines = pred.log.read_text().splitlines()
    refusals = [line for line in lines if "sha256" in line]
    assert len(refusals) == 1, refusals  # one clear line, not one per probe or component
    assert "kserve ERROR" in refusals[0] and "refusing to load" in refusals[0]


def test_sklearn_version_mismatch_is_refused(synthetic_model_dir, tmp_path, serving_logs, started):
    """Unpickling needs the scikit-learn that trained the model; model.onnx does not."""
    model = model_copy(synthetic_model_dir, tmp_path / "model")
    manifest = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps(manifest | {"sklearn_version": "0.24.2"}))
    pred = predictor_server(model, serving_logs, ["--engine", "sklearn"]).start()
    onnx = predictor_server(model, serving_logs).start()
    started += [pred, onnx]
    pred.wait_live()
    ready = pred.get("/v2/models/heart/ready")
    assert ready.status_code == 503 and "scikit-learn" in ready.json()["error"]
    onnx.wait_ready()
    assert onnx.get("/v2/models/heart").json()["parameters"]["engine"] == "onnx"


def test_contract_mismatch_makes_transformer_not_ready(
    synthetic_model_dir, tmp_path, serving_logs, started
) -> None:
    model = model_copy(synthetic_model_dir, tmp_path / "model")
    manifest = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps(manifest | {"contract_hash": "0" * 64}))
    pred = predictor_server(model, serving_logs).start()
    started.append(pred)
    pred.wait_ready()  # the predictor itself is fine: the *pair* is skewed
    for protocol, address in (("v2", f"127.0.0.1:{pred.http_port}"), ("grpc-v2", pred.grpc)):
        t = transformer_server(address, protocol, serving_logs).start()
        started.append(t)
        t.wait_live()
        ready = t.get("/v2/models/heart/ready")
        assert ready.status_code == 503
        assert "contract hash" in ready.json()["error"]
        assert t.post("/v1/models/heart:predict", json=ONE).status_code == 503


def test_predictor_4xx_is_passed_back(synthetic_model_dir, serving_logs, started) -> None:
    """A predictor limited to 2 rows rejects 3: both transformers pass its 400 back."""
    pred = predictor_server(synthetic_model_dir, serving_logs, ["--max_batch_size", "2"]).start()
    started.append(pred)
    pred.wait_ready()
    rest = transformer_server(f"127.0.0.1:{pred.http_port}", "v2", serving_logs).start()
    over_grpc = transformer_server(pred.grpc, "grpc-v2", serving_logs).start()
    started.extend([rest, over_grpc])
    rest.wait_ready()
    over_grpc.wait_ready()
    three = {"instances": to_records(generate(3, seed=1))}
    response = rest.post("/v1/models/heart:predict", json=three)
    assert response.status_code == 400
    assert "the predictor answered 400" in response.json()["error"]
    assert "limit is 2" in response.json()["error"]
    result = grpc_infer(over_grpc.grpc, records_request(three["instances"]))
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit is 2" in result.details and "the predictor answered" in result.details
    assert str(pred.grpc_port) not in result.details  # never the internal address
    assert rest.post("/v1/models/heart:predict", json=ONE).status_code == 200


def records_request(records: list[dict]) -> InferRequest:
    inputs = []
    for name in FEATURE_NAMES:
        tensor = InferInput(name, [len(records)], "FP64")
        tensor.data = [r.get(name) for r in records]
        inputs.append(tensor)
    return InferRequest(model_name="heart", infer_inputs=inputs)


def metadata_requests(server: Server) -> int:
    return server.log.read_text().count('"GET /v2/models/heart HTTP/1.1"')


def test_predictor_check_is_single_flight(synthetic_model_dir, serving_logs, started) -> None:
    """30 concurrent requests on a stale check: one metadata request, not 30."""
    interval = 3.0
    pred = predictor_server(synthetic_model_dir, serving_logs).start()
    started.append(pred)
    pred.wait_ready()
    extra = ["--contract_check_interval_seconds", str(interval)]
    trans = transformer_server(f"127.0.0.1:{pred.http_port}", "v2", serving_logs, extra).start()
    started.append(trans)
    trans.wait_ready()
    time.sleep(interval + 0.3)  # the cached check is stale now
    before = metadata_requests(pred)

    def predict(_: int) -> int:
        return trans.post("/v1/models/heart:predict", json=ONE).status_code

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(predict, range(30)))
    assert codes == [200] * 30
    assert wait_for(lambda: metadata_requests(pred) > before, 5)
    time.sleep(0.3)
    assert metadata_requests(pred) - before == 1


def test_readiness_answers_fast_with_a_hung_predictor(serving_logs, started) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port()))
    silent.listen(16)  # accepts connections, never answers
    try:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        rest = transformer_server(address, "v2", serving_logs, FAST_CHECK).start()
        started.append(rest)
        rest.wait_live()
        took = []
        for _ in range(8):  # the 0.5 s cache expires between probes: refreshes run meanwhile
            began = time.monotonic()
            ready = rest.get("/v2/models/heart/ready")
            took.append(time.monotonic() - began)
            assert ready.status_code == 503 and "predictor" in ready.json()["error"]
            time.sleep(0.3)
        # Kubernetes' probe timeout is 1 s; a check on the probe's path took 3 s here.
        assert max(took) < 1.0, took
    finally:
        silent.close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files in ``folder``)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "heart-predictor")])
    now = datetime.datetime.now(datetime.UTC)
    ip = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(ip, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_predictor_over_tls_with_predictor_use_ssl(
    synthetic_model_dir, tmp_path, serving_logs, started
) -> None:
    """--predictor_use_ssl true: the transformer calls https:// (REST), trusting SSL_CERT_FILE."""
    cert, key = self_signed(tmp_path)
    tls = ["--ssl_certfile", str(cert), "--ssl_keyfile", str(key), "--engine", "sklearn"]
    pred = predictor_server(synthetic_model_dir, serving_logs, tls).start()
    started.append(pred)
    url = f"https://127.0.0.1:{pred.http_port}/v2/models/heart/ready"
    trust = ssl.create_default_context(cafile=str(cert))
    assert wait_for(lambda: httpx.get(url, verify=trust, timeout=2).status_code == 200, 60)
    extra = ["--predictor_use_ssl", "true"]
    trans = transformer_server(f"127.0.0.1:{pred.http_port}", "v2", serving_logs, extra)
    trans.env["SSL_CERT_FILE"] = str(cert)
    started.append(trans.start())
    trans.wait_ready()
    assert trans.post("/v1/models/heart:predict", json=ONE).status_code == 200

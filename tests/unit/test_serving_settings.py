"""Settings built from KServe's parser, the handshake comparison, metrics, storage, JSON."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from kserve.errors import InvalidInput

from predictor import storage
from predictor.settings import PredictorSettings
from serving import metrics
from serving.jsonbody import parse_json
from transformer.client import PredictorMetadata
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES
from transformer.handshake import compare
from transformer.settings import TransformerSettings

pytestmark = pytest.mark.unit


def test_predictor_settings_defaults_and_kserve_flags() -> None:
    s = PredictorSettings.parse(["--model_dir", "m", "--http_port", "9000", "--workers", "2"])
    assert s.server.bind_address == "0.0.0.0"  # containers listen on every interface
    assert (s.server.http_port, s.server.workers, s.server.model_name) == (9000, 2, "heart")
    assert s.model_dir == "m"


def test_transformer_settings() -> None:
    s = TransformerSettings.parse(["--predictor_host", "p:8080", "--bind_address", "127.0.0.1"])
    assert s.server.bind_address == "127.0.0.1"
    assert (s.predictor_protocol, s.timeout_seconds) == ("v2", 10.0)  # bounded by default
    with pytest.raises(SystemExit):
        TransformerSettings.parse([])  # --predictor_host is required
    with pytest.raises(SystemExit):
        TransformerSettings.parse(["--predictor_host", "p:1", "--predictor_protocol", "v1"])


def meta(**params: str) -> PredictorMetadata:
    base = {"contract_hash": CONTRACT_HASH, "feature_order": ",".join(FEATURE_NAMES)}
    inputs = [{"name": "features", "datatype": "FP32", "shape": [-1, 13]}]
    return PredictorMetadata("heart", ["1"], inputs, base | params)


def test_handshake_compare() -> None:
    assert compare(meta()) == []
    assert "contract hash" in compare(meta(contract_hash="0" * 64))[0]
    swapped = list(FEATURE_NAMES)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    assert "feature order" in compare(meta(feature_order=",".join(swapped)))[0]
    narrow = meta()
    narrow.inputs[0]["shape"] = [-1, 12]
    assert "feature count" in compare(narrow)[0]


def test_metrics_prepare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(metrics.ENV, raising=False)
    assert metrics.prepare(["--workers", "1"]) is None
    try:
        path = metrics.prepare(["--model_dir", "x", "--workers", "3"])
        assert path is not None and os.path.isdir(path) and os.environ[metrics.ENV] == path
    finally:  # never leak multiprocess mode into servers started later in the session
        os.environ.pop(metrics.ENV, None)


def test_metrics_prepare_wipes_an_operator_directory(tmp_path, monkeypatch) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "histogram_9.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not ours")
    monkeypatch.setenv(metrics.ENV, str(tmp_path))
    assert metrics.prepare(["--workers", "2"]) == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_predictor_storage_flags() -> None:
    s = PredictorSettings.parse(["--model_dir", "pvc://claim/models/heart"])
    assert (s.storage_timeout_seconds, s.pvc_mount_path) == (300.0, "/mnt/pvc")
    with pytest.raises(SystemExit):
        PredictorSettings.parse(["--model_dir", "m", "--storage_timeout_seconds", "0"])


def test_pvc_uri_maps_to_the_mounted_claim(tmp_path) -> None:
    assert storage.local_path("pvc://claim/models/heart") == Path("/mnt/pvc/models/heart")
    assert storage.fetch("pvc://claim/m", pvc_mount_path=str(tmp_path)) == tmp_path / "m"
    assert storage.fetch("file:///srv/model") == Path("/srv/model")
    assert not storage.is_remote("pvc://claim/m") and storage.is_remote("s3://b/m")
    with pytest.raises(storage.StorageError):
        storage.pvc_path("pvc:///m")


def test_unknown_storage_scheme_is_one_line_error() -> None:
    with pytest.raises(storage.StorageError) as info:
        storage.fetch("nosuch://bucket/model", timeout=10)
    assert "the download failed" in str(info.value)
    assert "Cannot recognize storage type" in info.value.detail and "\n" not in info.value.detail


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b'{"a": [1, null]}', {"a": [1, None]}), (b'{"a": NaN}', {"a": math.nan})],
)
def test_json_bodies_accept_nan_like_the_v2_route(body: bytes, expected: dict) -> None:
    got = parse_json(body)
    assert got.keys() == expected.keys()
    assert str(got) == str(expected)


def test_malformed_json_says_where() -> None:
    with pytest.raises(InvalidInput, match="malformed JSON: Expecting"):
        parse_json(b'{"instances": [')

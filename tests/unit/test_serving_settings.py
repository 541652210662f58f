"""Settings built from KServe's parser, the handshake comparison, metrics preparation."""

from __future__ import annotations

import os

import pytest

from predictor.settings import PredictorSettings
from transformer import metrics
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

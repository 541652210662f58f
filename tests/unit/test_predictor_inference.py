"""predictor.inference: verify before unpickling, one predict function, engine hook."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest

from predictor import fastpath, inference
from predictor.manifest import ManifestError
from transformer.synthetic import generate

pytestmark = pytest.mark.unit


@pytest.fixture
def model_dir(synthetic_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(synthetic_model_dir, tmp_path / "model"))


def test_predict_matches_pipeline(synthetic_model_dir: Path) -> None:
    model = inference.load(synthetic_model_dir, engine="sklearn")
    x = generate(64, seed=4, missing_rate=0.1)
    got = inference.predict(model, x)
    expected = joblib.load(synthetic_model_dir / "model.joblib").predict_proba(x)[:, 1]
    np.testing.assert_array_equal(got.probability, expected.astype(np.float32))
    assert got.probability.dtype == np.float32 and got.label.dtype == np.int32
    np.testing.assert_array_equal(got.label, (got.probability >= 0.5).astype(np.int32))


def test_tampered_model_is_not_unpickled(model_dir: Path) -> None:
    (model_dir / "model.joblib").write_bytes(b"not a pickle")  # would fail to unpickle
    with pytest.raises(ManifestError, match="sha256"):
        inference.load(model_dir)


def test_other_sklearn_version_is_refused(model_dir: Path) -> None:
    manifest = json.loads((model_dir / "model.json").read_text())
    (model_dir / "model.json").write_text(json.dumps(manifest | {"sklearn_version": "0.24.2"}))
    with pytest.raises(ManifestError, match="scikit-learn"):
        inference.load(model_dir)


def test_pickling_reloads_and_keeps_the_engine(synthetic_model_dir: Path) -> None:
    model = inference.load(synthetic_model_dir, engine="sklearn")
    copy = pickle.loads(pickle.dumps(model))
    x = generate(5, seed=8)
    assert copy.engine == "sklearn"
    np.testing.assert_array_equal(
        inference.predict(copy, x).probability, inference.predict(model, x).probability
    )


def test_engine_hook(synthetic_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def always_high(pipeline, path):  # a registered engine is used for every call
        return lambda m: np.full(len(m), 0.9, dtype=np.float32), "constant"

    monkeypatch.setitem(inference.ENGINES, "constant", always_high)
    model = inference.load(synthetic_model_dir, engine="constant")
    assert inference.predict(model, generate(3)).label.tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="unknown engine"):
        inference.load(synthetic_model_dir, engine="nope")


def test_a_fast_engine_that_fails_parity_serves_and_says_sklearn(
    synthetic_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def skewed(pipeline):  # a "compiled" path that is off by 0.01
        return lambda m: fastpath.sklearn_proba(pipeline)(m) + np.float32(0.01)

    monkeypatch.setattr(fastpath, "compile_onnx", skewed)
    model = inference.load(synthetic_model_dir, engine="onnx")
    assert (model.engine, model.serving) == ("onnx", "sklearn")
    x = generate(50, seed=4)
    np.testing.assert_array_equal(
        inference.predict(model, x).probability, fastpath.sklearn_proba(model.pipeline)(x)
    )


def test_the_onnx_engine_reports_onnxruntime_when_parity_holds(synthetic_model_dir: Path) -> None:
    model = inference.load(synthetic_model_dir, engine="onnx")
    assert model.serving == "onnxruntime"

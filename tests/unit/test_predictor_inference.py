"""predictor.inference: check before loading, model.onnx never unpickled, one predict function."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest

from predictor import inference
from predictor.manifest import ManifestError
from transformer.synthetic import generate

pytestmark = pytest.mark.unit


@pytest.fixture
def model_dir(synthetic_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(synthetic_model_dir, tmp_path / "model"))


def _edit_manifest(model_dir: Path, **changes: object) -> None:
    path = model_dir / "model.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


@pytest.mark.parametrize("engine", ["onnx", "sklearn"])
def test_predict_matches_pipeline(synthetic_model_dir: Path, engine: str) -> None:
    model = inference.load(synthetic_model_dir, engine=engine)
    assert model.serving == engine
    x = generate(64, seed=4, missing_rate=0.1)
    got = inference.predict(model, x)
    expected = joblib.load(synthetic_model_dir / "model.joblib").predict_proba(x)[:, 1]
    np.testing.assert_allclose(got.probability, expected.astype(np.float32), atol=1e-5)
    assert got.probability.dtype == np.float32 and got.label.dtype == np.int32
    np.testing.assert_array_equal(got.label, (got.probability >= 0.5).astype(np.int32))


def test_the_onnx_engine_never_unpickles(model_dir: Path, monkeypatch) -> None:
    """model.joblib is not even read: replace it with bytes that would fail to unpickle."""
    (model_dir / "model.joblib").write_bytes(b"not a pickle")
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("joblib.load"))
    model = inference.load(model_dir, "onnx")
    assert inference.predict(model, generate(3)).probability.shape == (3,)


@pytest.mark.parametrize(("engine", "name"), [("onnx", "model.onnx"), ("sklearn", "model.joblib")])
def test_a_tampered_file_is_refused_before_loading(model_dir: Path, engine: str, name: str) -> None:
    (model_dir / name).write_bytes((model_dir / name).read_bytes() + b"\0")
    with pytest.raises(ManifestError, match=f"{name} does not match the sha256"):
        inference.load(model_dir, engine)


def test_other_sklearn_version_is_refused_by_the_sklearn_engine(model_dir: Path) -> None:
    _edit_manifest(model_dir, sklearn_version="0.24.2")
    with pytest.raises(ManifestError, match="scikit-learn"):
        inference.load(model_dir, "sklearn")
    assert inference.load(model_dir, "onnx").serving == "onnx"  # no pickle, no version lock


def test_a_directory_without_model_onnx_is_served_by_sklearn_and_says_so(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (model_dir / "model.onnx").unlink()
    _edit_manifest(model_dir, onnx_sha256="", onnx_error="conversion failed: demo")
    with caplog.at_level("WARNING", logger="kserve"):
        model = inference.load(model_dir, "onnx")
    assert (model.engine, model.serving) == ("onnx", "sklearn")
    assert len(caplog.records) == 1 and "conversion failed: demo" in caplog.text


def test_a_missing_model_onnx_that_model_json_names_is_refused(model_dir: Path) -> None:
    (model_dir / "model.onnx").unlink()
    with pytest.raises(ManifestError, match=r"model\.onnx is missing"):
        inference.load(model_dir, "onnx")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"threshold": 1.5}, "threshold must be in [0, 1]"),
        ({"threshold": "0.5"}, "threshold must be a number"),
        ({"threshold": True}, "threshold must be a number"),
        ({"feature_order": []}, "feature_order"),
        ({"feature_order": ["age", "age"]}, "twice"),
        ({"sha256": "abc"}, "sha256 must be 64 hex digits"),
        ({"surprise": 1}, "unknown fields"),
        ({"format_version": 99}, "format_version"),
    ],
)
def test_a_bad_manifest_is_refused_with_one_reason(
    model_dir: Path, changes: dict[str, object], message: str
) -> None:
    _edit_manifest(model_dir, **changes)
    with pytest.raises(ManifestError) as info:
        inference.load(model_dir, "onnx")
    assert message in str(info.value)
    assert str(model_dir) not in str(info.value), "reasons name files, not local paths"


def test_a_manifest_that_is_not_json_is_refused(model_dir: Path) -> None:
    (model_dir / "model.json").write_text("[" * 5000)
    with pytest.raises(ManifestError, match="not valid JSON"):
        inference.load(model_dir)


@pytest.mark.parametrize("engine", ["onnx", "sklearn"])
def test_pickling_reloads_and_keeps_the_engine(synthetic_model_dir: Path, engine: str) -> None:
    model = inference.load(synthetic_model_dir, engine=engine)
    copy = pickle.loads(pickle.dumps(model))
    x = generate(5, seed=8)
    assert copy.engine == engine and copy.serving == engine
    np.testing.assert_array_equal(
        inference.predict(copy, x).probability, inference.predict(model, x).probability
    )


def test_unknown_engine_is_refused(synthetic_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown engine 'nope'"):
        inference.load(synthetic_model_dir, engine="nope")

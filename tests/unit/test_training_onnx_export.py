"""model.onnx is compiled and proven at export, or the export says why there is none."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from predictor import inference
from predictor.engines import onnx_session_proba, pipeline_proba
from predictor.manifest import ONNX_FILE, read, sha256_file
from training.data import load_site
from training.export import copy_model_dir, write_model_dir
from training.onnx_export import (
    SYNTHETIC_ROWS,
    Parity,
    check_parity,
    compile_pipeline,
    parity_rows,
    snap_thresholds,
    to_onnx,
)
from training.pipelines import FAMILIES, Family, build_pipeline
from training.sites import load_training

pytestmark = pytest.mark.unit

THRESHOLD = 0.5


@pytest.fixture(scope="module")
def cleveland(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    return load_site("cleveland", data_source, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module", params=FAMILIES)
def fitted(request: pytest.FixtureRequest, cleveland) -> Pipeline:
    x, y = cleveland
    return build_pipeline(request.param, seed=0).fit(x, y)


def test_parity_rows_are_the_training_rows_plus_generated(cleveland) -> None:
    x, _ = cleveland
    rows = parity_rows(x)
    assert len(rows) == len(x) + SYNTHETIC_ROWS
    np.testing.assert_array_equal(rows[: len(x)], x)
    assert np.isnan(rows[len(x) :]).any(), "generated rows exercise the imputer"


def test_every_family_compiles_with_parity_on_every_row(fitted: Pipeline, cleveland) -> None:
    x, _ = cleveland
    compiled = compile_pipeline(fitted, THRESHOLD, x)
    assert compiled.model is not None, compiled.error
    assert compiled.parity is not None and compiled.parity.ok
    assert compiled.parity.rows == len(x) + SYNTHETIC_ROWS
    assert compiled.parity.data_rows == len(x)
    assert compiled.parity.label_agreement == 1.0 and compiled.parity.max_abs_diff <= 1e-5


def test_export_writes_model_onnx_with_its_digest_and_evidence(
    fitted: Pipeline, cleveland, tmp_path: Path
) -> None:
    x, _ = cleveland
    out = tmp_path / "model"
    manifest = write_model_dir(fitted, out, THRESHOLD, data=x, model_family="test")
    assert manifest.onnx_sha256 == sha256_file(out / ONNX_FILE)
    stored = json.loads((out / "model.json").read_text())
    assert stored["onnx_parity"]["rows"] == len(x) + SYNTHETIC_ROWS
    assert stored["onnx_parity"]["label_agreement"] == 1.0
    assert stored["onnx_parity"]["threshold"] == THRESHOLD
    assert stored["onnx_error"] == ""
    served = inference.load(out, "onnx")
    assert served.serving == "onnx"
    np.testing.assert_allclose(
        inference.predict(served, x).probability, fitted.predict_proba(x)[:, 1], atol=1e-5
    )


def test_a_parity_miss_means_no_model_onnx(cleveland, tmp_path: Path, monkeypatch) -> None:
    """A compiled model that is off by 1e-3 is not exported; model.json says why."""
    x, y = cleveland
    pipeline = build_pipeline("logistic_regression", seed=0).fit(x, y)

    def skewed(model: bytes, column: int):
        exact = onnx_session_proba(model, column)
        return lambda m: np.clip(exact(m) + 1e-3, 0.0, 1.0)

    monkeypatch.setattr("training.onnx_export.onnx_session_proba", skewed)
    out = tmp_path / "model"
    (out).mkdir()
    (out / ONNX_FILE).write_bytes(b"stale")  # from an earlier export: must go
    manifest = write_model_dir(pipeline, out, THRESHOLD, data=x)
    assert not (out / ONNX_FILE).exists()
    assert manifest.onnx_sha256 == "" and "parity failed" in manifest.onnx_error
    assert "max |dp| 1.00e-03" in manifest.onnx_error


def test_a_pipeline_skl2onnx_cannot_convert_exports_joblib_only(cleveland, tmp_path: Path) -> None:
    x, y = cleveland
    custom = make_pipeline(
        FunctionTransformer(np.nan_to_num), build_pipeline("logistic_regression")
    ).fit(x, y)
    manifest = write_model_dir(custom, tmp_path / "model", THRESHOLD, data=x)
    assert "conversion failed" in manifest.onnx_error
    assert read(tmp_path / "model").onnx_sha256 == ""


def test_a_single_label_flip_fails_parity() -> None:
    ok = Parity(10, 10, 0, max_abs_diff=0.0, label_agreement=1.0, threshold=0.5)
    assert ok.ok
    assert not Parity(10, 10, 0, max_abs_diff=0.0, label_agreement=0.9, threshold=0.5).ok
    assert not Parity(10, 10, 0, max_abs_diff=2e-5, label_agreement=1.0, threshold=0.5).ok


def test_label_flip_at_the_threshold_is_counted(cleveland, monkeypatch) -> None:
    """0.5 vs 0.4999999 is a tiny |dp| but another label: parity fails."""
    x, y = cleveland
    pipeline = build_pipeline("logistic_regression", seed=0).fit(x, y)
    monkeypatch.setattr(
        "training.onnx_export.onnx_session_proba",
        lambda m, c: lambda rows: onnx_session_proba(m, c)(rows) - 1e-7,
    )
    threshold = float(pipeline_proba(pipeline)(x[:1])[0])  # row 0 sits on the threshold
    parity = check_parity(pipeline, to_onnx(pipeline, x.shape[1]), x[:1], threshold, 1)
    assert parity.max_abs_diff < 1e-5 and parity.label_agreement == 0.0 and not parity.ok


def test_copy_model_dir_copies_and_verifies_every_file(fitted, cleveland, tmp_path: Path) -> None:
    x, _ = cleveland
    source = tmp_path / "source"
    write_model_dir(fitted, source, THRESHOLD, data=x)
    copied = copy_model_dir(source, tmp_path / "copy")
    assert copied.onnx_sha256 == sha256_file(tmp_path / "copy" / ONNX_FILE)
    (source / ONNX_FILE).write_bytes(b"tampered")
    with pytest.raises(ValueError, match=r"model\.onnx does not match"):
        copy_model_dir(source, tmp_path / "again")


@pytest.fixture(scope="module")
def pooled(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    return load_training(("cleveland", "hungarian"), data_source, tmp_path_factory.mktemp("c"))


@pytest.mark.parametrize("missing", ["indicator", "drop"])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_calibrated_candidate_exports_a_model_onnx_with_parity(
    family: Family, missing: str, pooled, tmp_path: Path
) -> None:
    """What make train can choose as champion is served by the ONNX fast path."""
    params = {"missing": missing, "calibration": "sigmoid"}
    pipeline = build_pipeline(family, params, seed=0).fit(pooled.x, pooled.y)
    manifest = write_model_dir(pipeline, tmp_path, THRESHOLD, data=pooled.x, model_family=family)
    assert manifest.onnx_error == "" and manifest.onnx_sha256 == sha256_file(tmp_path / ONNX_FILE)
    assert manifest.onnx_parity["max_abs_diff"] <= 1e-5
    assert manifest.onnx_parity["label_agreement"] == 1.0


def test_gradient_boosting_needs_float32_thresholds_for_parity(pooled) -> None:
    """scikit-learn splits on float64 midpoints, ONNX on float32: without snapping, inputs
    equal to a training value fall on the other side of some splits."""
    pipeline = build_pipeline("gradient_boosting", {"missing": "drop"}, seed=0)
    pipeline.fit(pooled.x, pooled.y)
    rows = parity_rows(pooled.x)
    before = pipeline_proba(pipeline)(rows)
    raw = check_parity(pipeline, to_onnx(pipeline, 13), rows, THRESHOLD, len(pooled.x))
    assert not raw.ok
    snap_thresholds(pipeline)
    np.testing.assert_array_equal(pipeline_proba(pipeline)(rows), before)  # same answers
    snapped = check_parity(pipeline, to_onnx(pipeline, 13), rows, THRESHOLD, len(pooled.x))
    assert snapped.ok, snapped

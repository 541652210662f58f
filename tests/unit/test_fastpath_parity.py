"""The compiled fast path equals the Pipeline, or the predictor falls back."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from predictor import inference
from predictor.fastpath import (
    SYNTHETIC_ROWS,
    Parity,
    check_parity,
    compile_onnx,
    parity_rows,
    select_proba,
    sklearn_proba,
)
from training.data import load_site
from training.pipelines import FAMILIES, build_pipeline

pytestmark = pytest.mark.unit

THRESHOLD = 0.5


@pytest.fixture(scope="module")
def cleveland(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    return load_site("cleveland", data_source, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module", params=FAMILIES)
def fitted(request: pytest.FixtureRequest, cleveland) -> Pipeline:
    x, y = cleveland
    return build_pipeline(request.param, seed=0).fit(x, y)


def test_parity_rows_are_every_cleveland_row_plus_generated(data_source: str, cleveland) -> None:
    rows = parity_rows(data_source)
    assert len(rows) == len(cleveland[0]) + SYNTHETIC_ROWS
    np.testing.assert_array_equal(rows[: len(cleveland[0])], cleveland[0])
    assert np.isnan(rows).any(), "generated rows exercise the imputer"


def test_onnx_path_equals_pipeline_on_every_row(fitted: Pipeline, data_source: str) -> None:
    parity = check_parity(
        sklearn_proba(fitted), compile_onnx(fitted), parity_rows(data_source), THRESHOLD
    )
    assert parity.rows > SYNTHETIC_ROWS
    assert parity.label_mismatches == 0
    assert parity.max_abs_diff <= 1e-5
    assert parity.ok


def test_select_proba_serves_onnx_when_parity_holds(
    fitted: Pipeline, data_source: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kserve"):
        proba, engine = select_proba(fitted, THRESHOLD, data_source)
    assert engine == "onnxruntime"
    x = parity_rows(None, synthetic=50)
    np.testing.assert_allclose(proba(x), fitted.predict_proba(x)[:, 1], atol=1e-5)
    assert "parity with the Pipeline proven" in caplog.text


def test_falls_back_to_sklearn_when_parity_fails(
    fitted: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    def skewed(pipeline: Pipeline):
        exact = sklearn_proba(pipeline)
        return lambda m: np.clip(exact(m) + 1e-3, 0.0, 1.0)

    with caplog.at_level(logging.WARNING, logger="kserve"):
        proba, engine = select_proba(fitted, THRESHOLD, compiler=skewed)
    assert engine == "sklearn"
    x = parity_rows(None, synthetic=20)
    np.testing.assert_array_equal(proba(x), fitted.predict_proba(x)[:, 1].astype(np.float32))
    assert len(caplog.records) == 1
    assert "parity failed" in caplog.text and "max |dp| 1.00e-03" in caplog.text


def test_falls_back_when_conversion_fails(cleveland, caplog: pytest.LogCaptureFixture) -> None:
    x, y = cleveland
    custom = make_pipeline(
        FunctionTransformer(np.nan_to_num), build_pipeline("logistic_regression")
    ).fit(x, y)
    with caplog.at_level(logging.WARNING, logger="kserve"):
        proba, engine = select_proba(custom, THRESHOLD)
    assert engine == "sklearn"
    assert "conversion failed" in caplog.text
    np.testing.assert_array_equal(proba(x), custom.predict_proba(x)[:, 1].astype(np.float32))


def test_a_single_label_flip_fails_parity() -> None:
    assert not Parity(rows=10, max_abs_diff=0.0, label_mismatches=1).ok
    assert not Parity(rows=10, max_abs_diff=2e-5, label_mismatches=0).ok
    assert Parity(rows=10, max_abs_diff=1e-5, label_mismatches=0).ok


def test_label_flip_at_threshold_is_counted() -> None:
    x = np.zeros((3, 13), dtype=np.float32)
    reference = lambda m: np.array([0.49, 0.5, 0.7])  # noqa: E731
    candidate = lambda m: np.array([0.49, 0.4999999, 0.7])  # noqa: E731
    parity = check_parity(reference, candidate, x, threshold=0.5)
    assert parity.label_mismatches == 1 and parity.max_abs_diff < 1e-5 and not parity.ok


def test_unreadable_data_source_still_checks_generated_rows(tmp_path: Path) -> None:
    rows = parity_rows(str(tmp_path / "absent"), synthetic=100, cache_dir=tmp_path / "cache")
    assert len(rows) == 100


def test_predictor_onnx_engine_serves_the_pipelines_answers(synthetic_model_dir: Path) -> None:
    fast = inference.load(synthetic_model_dir, "onnx")
    plain = inference.load(synthetic_model_dir, "sklearn")
    x = parity_rows(None, synthetic=500)
    a, b = inference.predict(fast, x), inference.predict(plain, x)
    np.testing.assert_allclose(a.probability, b.probability, atol=1e-5)
    np.testing.assert_array_equal(a.label, b.label)
    assert fast.proba.__qualname__ == "compile_onnx.<locals>.proba", "the fast path was chosen"

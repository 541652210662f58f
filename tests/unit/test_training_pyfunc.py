"""The MLflow model's parts without a tracking store: signature, input example,
the pyfunc's answers on an exported model directory, registry tags."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.model import PythonModelContext

from predictor import inference
from predictor.manifest import Manifest, read
from training import pyfunc
from training.evaluate import CVSettings
from training.tracking import version_tags
from transformer.contract import FEATURE_NAMES, FEATURES, LABELS
from transformer.synthetic import generate
from transformer.validation import columns_to_matrix

pytestmark = pytest.mark.unit


def _context(model_dir: Path) -> PythonModelContext:
    return PythonModelContext(
        artifacts={pyfunc.MODEL_DIR_ARTIFACT: str(model_dir)}, model_config={}
    )


@pytest.fixture(scope="module")
def heart_model(synthetic_model_dir: Path):
    from training.pyfunc_model import HeartModel  # the models-from-code file

    model = HeartModel()
    model.load_context(_context(synthetic_model_dir))
    return model


def _frame(matrix: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(matrix.astype(np.float64), columns=list(FEATURE_NAMES))


def test_signature_is_the_contract_as_named_float64_columns() -> None:
    signature = pyfunc.signature()
    inputs = signature.inputs.to_dict()
    assert [c["name"] for c in inputs] == list(FEATURE_NAMES)
    assert {c["type"] for c in inputs} == {"double"}
    required = {c["name"] for c in inputs if c["required"]}
    assert required == {f.name for f in FEATURES if not f.nullable} == {"age", "sex", "cp"}
    assert [c["name"] for c in signature.outputs.to_dict()] == ["risk", "label"]


def test_input_example_is_a_float64_frame_with_a_missing_value() -> None:
    x = generate(40, seed=1, missing_rate=0.2)
    example = pyfunc.input_example(x)
    assert list(example.columns) == list(FEATURE_NAMES)
    assert set(example.dtypes) == {np.dtype("float64")}
    assert example.isna().any(axis=1).sum() == 1 and len(example) == 5


def test_pyfunc_answers_as_the_transformer_and_predictor_do(heart_model, synthetic_model_dir):
    x = generate(300, seed=5, missing_rate=0.15)
    frame = _frame(x)
    frame.index = frame.index + 100  # answers keep the caller's index
    got = heart_model.predict(None, frame)
    matrix = columns_to_matrix({n: frame[n].tolist() for n in FEATURE_NAMES}, max_rows=300)
    want = inference.predict(inference.load(synthetic_model_dir, "onnx"), matrix)
    assert list(got.columns) == ["risk", "label"] and list(got.index) == list(frame.index)
    assert got["risk"].dtype == np.float32
    np.testing.assert_array_equal(got["risk"].to_numpy(), want.probability)
    assert got["label"].tolist() == [LABELS[i] for i in want.label]
    assert set(got["label"]) == set(LABELS)  # both answers occur: the check can fail


def test_pyfunc_reads_not_measured_zeros_and_absent_optional_columns_as_missing(heart_model):
    x = generate(20, seed=9)
    zeros, nans = _frame(x), _frame(x)
    zeros["chol"], nans["chol"] = 0.0, np.nan
    pd.testing.assert_frame_equal(heart_model.predict(None, zeros), heart_model.predict(None, nans))
    absent = nans.drop(columns=["chol", "thal"])
    nans["thal"] = np.nan
    pd.testing.assert_frame_equal(
        heart_model.predict(None, absent), heart_model.predict(None, nans)
    )


def test_pyfunc_refuses_a_bad_row_naming_row_field_and_allowed_values(heart_model) -> None:
    frame = _frame(generate(3, seed=2))
    frame.loc[1, "cp"] = 9.0
    frame.loc[2, "age"] = np.nan
    with pytest.raises(MlflowException) as caught:
        heart_model.predict(None, frame)
    message = caught.value.message
    assert "row 1, field 'cp'" in message and "asymptomatic" in message
    assert "row 2, field 'age'" in message and "required" in message
    assert caught.value.get_http_status_code() == 400


def test_pyfunc_refuses_a_model_trained_on_another_contract(synthetic_model_dir, tmp_path):
    from training.pyfunc_model import HeartModel

    folder = tmp_path / "model"
    shutil.copytree(synthetic_model_dir, folder)
    manifest = json.loads((folder / "model.json").read_text())
    manifest["contract_hash"] = "0" * 64
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(MlflowException, match="contract 000000000000"):
        HeartModel().load_context(_context(folder))


def test_shipped_code_is_every_project_module_the_pyfunc_imports() -> None:
    """The pyfunc's project imports, followed transitively, are all in ``SHIPPED``
    (package ``__init__`` files are not shipped: the code travels as namespace packages)."""
    from tests.unit.test_extras import imports_of, module_file

    seen: set[str] = set()
    todo = [pyfunc.MODEL_CODE]
    while todo:
        for module in imports_of(todo.pop()):
            path = module_file(module)
            if path is None or path.name == "__init__.py":
                continue
            relative = path.relative_to(pyfunc._PACKAGES).as_posix()
            if relative not in seen:
                seen.add(relative)
                todo.append(path)
    assert seen == set(pyfunc.SHIPPED)


def _manifest_with(synthetic_model_dir: Path, **extra: Any) -> Manifest:
    return dataclasses.replace(
        read(synthetic_model_dir), metrics={"roc_auc": 0.91234, "roc_auc_ci_low": 0.9}, **extra
    )


def test_version_tags_carry_contract_threshold_digests_and_protocol(synthetic_model_dir) -> None:
    manifest = _manifest_with(synthetic_model_dir)
    tags = version_tags(manifest, CVSettings(folds=5, repeats=10, seed=0))
    assert tags["contract_hash"] == manifest.contract_hash
    assert float(tags["threshold"]) == manifest.threshold
    assert tags["sha256_model_joblib"] == manifest.sha256
    assert tags["sha256_model_onnx"] == manifest.onnx_sha256
    assert (tags["cv_folds"], tags["cv_repeats"], tags["cv_seed"]) == ("5", "10", "0")
    assert tags["cv_roc_auc"] == "0.9123" and "cv_roc_auc_ci_low" not in tags
    assert not [k for k in tags if k.startswith("loso_")]


def test_version_tags_carry_loso_scores_when_the_manifest_has_them(synthetic_model_dir):
    def held(auc: float, brier: float, rows: int) -> dict[str, Any]:
        ci = {"ci_low": auc - 0.04, "ci_high": auc + 0.04}
        return {"rows": rows, "auc": {"value": auc, **ci}, "brier": {"value": brier, **ci}}

    loso = {"hungarian": held(0.87, 0.15, 294), "cleveland": held(0.9, 0.12, 303)}
    manifest = _manifest_with(
        synthetic_model_dir, loso=loso, train_sites=["cleveland", "hungarian"]
    )
    tags = version_tags(manifest, CVSettings())
    assert tags["loso_hungarian_auc"] == "0.8700" and tags["loso_hungarian_brier"] == "0.1500"
    assert tags["loso_cleveland_auc"] == "0.9000" and tags["loso_cleveland_rows"] == "303"
    assert tags["train_sites"] == "cleveland,hungarian"

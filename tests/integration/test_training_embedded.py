"""`python -m training train` against the embedded MLflow (SQLite + local artifacts).

Plumbing, not model quality: a small CV configuration (the quality bars run the
real one in test_training_quality.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import joblib
import mlflow
import numpy as np
import pandas as pd
import pytest
import sklearn
from mlflow.tracking import MlflowClient

from predictor.manifest import read, sha256_file, verify
from tests.integration.training_fixtures import SMALL_TRAIN, clean_env, embedded_flags, run_training
from training.data import SITES
from training.loso import LOSO_METRICS
from training.pipelines import FAMILIES
from training.selection import CHAMPION_RULE
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES
from transformer.synthetic import generate

pytestmark = pytest.mark.integration

PLOTS = {"roc.png", "calibration.png", "calibration_sites.png", "confusion.png", "importance.png"}


@pytest.fixture(scope="module")
def trained_twice(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    """Two identical training runs into one embedded store."""
    folder = tmp_path_factory.mktemp("embedded")
    env = clean_env(HEART_DATA_SOURCE=data_source)
    outputs = []
    for n in (1, 2):
        args = ["train", *embedded_flags(folder), *SMALL_TRAIN]
        args += ["--model-dir", str(folder / f"model{n}"), "--report-dir", str(folder / f"r{n}")]
        done = run_training(args, env)
        outputs.append(done.stdout + done.stderr)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    yield folder, outputs
    mlflow.set_tracking_uri("")


def test_model_dir_is_verified_and_describes_the_run(trained_twice) -> None:
    folder, _ = trained_twice
    manifest = verify(folder / "model2", sklearn.__version__)
    assert manifest.feature_order == list(FEATURE_NAMES)
    assert manifest.contract_hash == CONTRACT_HASH
    assert manifest.model_family in FAMILIES
    assert 0.0 < manifest.threshold < 1.0 and "Youden" in manifest.threshold_rule
    assert {"roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "brier"} <= set(manifest.metrics)
    run = MlflowClient().get_run(manifest.mlflow_run_id)
    assert run.data.metrics["cv_roc_auc"] == manifest.metrics["roc_auc"]
    assert run.data.metrics["cv_threshold"] == manifest.threshold


def test_leave_one_site_out_scores_and_the_champion_rule_land_in_model_json_and_the_run(
    trained_twice,
) -> None:
    folder, outputs = trained_twice
    manifest = read(folder / "model2")
    assert manifest.train_sites == ["cleveland", "hungarian"]
    assert manifest.champion_rule == CHAMPION_RULE
    assert set(manifest.loso) == {"cleveland", "hungarian"}
    assert manifest.loso["cleveland"]["rows"] == 303 and manifest.loso["hungarian"]["rows"] == 294
    run = MlflowClient().get_run(manifest.mlflow_run_id)
    for site, scores in manifest.loso.items():
        for metric in LOSO_METRICS:
            value = scores[metric]
            assert value["ci_low"] <= value["value"] <= value["ci_high"], (site, metric)
            assert run.data.metrics[f"cv_loso_{site}_{metric}"] == pytest.approx(value["value"])
        assert 0.75 < scores["auc"]["value"] < 1.0  # a site the model never saw, still informative
    assert run.data.params["train_sites"] == "cleveland,hungarian"
    assert run.data.params["champion_rule"].startswith("among candidates")
    assert "champion rule:" in outputs[1] and "held out: ROC-AUC" in outputs[1]
    report = (folder / "r2" / "metrics.md").read_text()
    assert "Leave-one-site-out" in report and "LOSO prefers" in report
    assert {"loso_auc.png", "calibration_sites.png"} <= {p.name for p in (folder / "r2").iterdir()}


def test_registry_versions_and_the_champion_alias_follow_the_latest_run(trained_twice) -> None:
    folder, _ = trained_twice
    first, second = read(folder / "model1"), read(folder / "model2")
    assert (first.model_version, second.model_version) == ("1", "2")
    champion = MlflowClient().get_model_version_by_alias("heart", "champion")
    assert str(champion.version) == "2"
    assert champion.run_id == second.mlflow_run_id


def test_a_second_train_says_which_champion_it_replaces_and_how_both_scored(trained_twice):
    _, outputs = trained_twice
    assert "replaces v" not in outputs[0]  # the first champion replaces nothing
    found = re.search(
        r"^champion: v2 \((.+)\) replaces v1 \((.+)\); make train always", outputs[1], re.MULTILINE
    )
    assert found, outputs[1][-3000:]
    new, old = found.groups()
    assert new == old  # same data and seed: the same scores, side by side
    assert re.fullmatch(r"ROC-AUC 0\.\d{4}, Brier 0\.\d{4}, CV 5 folds x 1 repeats, seed 0", new)


def test_same_data_and_seed_reproduce_metrics_and_predictions(trained_twice) -> None:
    folder, _ = trained_twice
    first, second = read(folder / "model1"), read(folder / "model2")
    assert first.metrics == second.metrics and first.threshold == second.threshold
    x = generate(500, seed=11, missing_rate=0.1)
    a = joblib.load(folder / "model1" / "model.joblib").predict_proba(x)
    b = joblib.load(folder / "model2" / "model.joblib").predict_proba(x)
    np.testing.assert_array_equal(a, b)


def test_run_holds_plots_model_dir_and_report(trained_twice, tmp_path: Path) -> None:
    folder, _ = trained_twice
    manifest = read(folder / "model2")
    client = MlflowClient()
    names = {Path(f.path).name for f in client.list_artifacts(manifest.mlflow_run_id, "plots")}
    assert names == PLOTS
    local = Path(client.download_artifacts(manifest.mlflow_run_id, "model", str(tmp_path)))
    assert sha256_file(local / "model.joblib") == manifest.sha256
    assert json.loads((local / "model.json").read_text()) == json.loads(
        (folder / "model2" / "model.json").read_text()
    )
    report = {a.path for a in client.list_artifacts(manifest.mlflow_run_id, "report")}
    assert report == {"report/metrics.md", "report/loso_auc.png", "report/calibration_sites.png"}


def test_logged_model_takes_named_float64_columns_and_has_both_flavours(trained_twice) -> None:
    folder, _ = trained_twice
    manifest = read(folder / "model2")
    uri = "models:/heart@champion"
    info = mlflow.models.get_model_info(uri)
    assert {"python_function", "sklearn"} <= set(info.flavors)
    assert [c["name"] for c in info.signature.inputs.to_dict()] == list(FEATURE_NAMES)
    assert {c["type"] for c in info.signature.inputs.to_dict()} == {"double"}
    model = mlflow.pyfunc.load_model(uri)
    example = model.input_example
    assert list(example.columns) == list(FEATURE_NAMES) and example.isna().any(axis=None)
    x = generate(50, seed=3, missing_rate=0.1)
    frame = pd.DataFrame(x.astype(np.float64), columns=list(FEATURE_NAMES))
    served = model.predict(frame)
    proba = joblib.load(folder / "model2" / "model.joblib").predict_proba(x)[:, 1]
    np.testing.assert_allclose(served["risk"], proba, atol=1e-5)  # ONNX parity bound
    labels = np.where(served["risk"] >= manifest.threshold, "disease", "no disease")
    assert served["label"].tolist() == labels.tolist()
    pipeline = mlflow.sklearn.load_model(uri)
    np.testing.assert_array_equal(pipeline.predict_proba(x)[:, 1], proba)
    champion = mlflow.MlflowClient().get_model_version_by_alias("heart", "champion")
    assert manifest.model_version == str(champion.version)


def test_the_run_records_one_dataset_per_site(trained_twice, data_source) -> None:
    folder, _ = trained_twice
    run = MlflowClient().get_run(read(folder / "model2").mlflow_run_id)
    assert run.inputs is not None
    found = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    present = {
        s for s in SITES if "://" in data_source or (Path(data_source) / SITES[s][0]).is_file()
    }
    assert set(found) == present and "cleveland" in found
    cleveland = found["cleveland"]
    assert cleveland.dataset.digest == SITES["cleveland"][1][:16]
    assert SITES["cleveland"][0] in cleveland.dataset.source
    assert json.loads(str(cleveland.dataset.profile))["num_rows"] == 303
    assert {t.value for t in cleveland.tags} == {"training", "cleveland"}


def test_every_configuration_is_a_child_run_of_the_train_run(trained_twice) -> None:
    folder, _ = trained_twice
    manifest = read(folder / "model2")
    runs = mlflow.search_runs(
        experiment_names=["heart"],
        filter_string=f"tags.mlflow.parentRunId = '{manifest.mlflow_run_id}'",
        output_format="list",
    )
    named = {r.info.run_name: r.data for r in runs}
    candidates = {f"{f} [{m}]" for f in FAMILIES for m in ("indicator", "drop")}
    assert set(named) == candidates | {"majority", "one_feature"}
    for data in named.values():
        assert {"cv_roc_auc", "cv_roc_auc_ci_low", "cv_brier", "cv_sensitivity"} <= set(
            data.metrics
        )
        assert (data.params["cv_folds"], data.params["cv_repeats"]) == ("5", "1")
        assert data.params["cv_seed"] == "0"
        assert "5 folds x 1 repeats" in data.tags["mlflow.note.content"]
        assert {"cv_loso_cleveland_auc", "cv_loso_hungarian_brier_ci_high"} <= set(data.metrics)
    assert named["random_forest [drop]"].params["random_forest.n_estimators"] == "40"
    assert named["random_forest [drop]"].params["random_forest.missing"] == "drop"
    assert named["gradient_boosting [indicator]"].params["gradient_boosting.calibration"] == (
        "sigmoid"
    )
    assert named["majority"].tags["baseline"] == "true"


def test_summary_tables_report_cv_intervals_and_absent_sites(trained_twice, data_source) -> None:
    _, outputs = trained_twice
    out = outputs[1]
    assert "stratified 5-fold CV x 1 repeats" in out and "(champion)" in out
    assert "External validation" in out and "hungarian" in out
    if "://" not in data_source:
        for site in ("switzerland", "va"):
            if not (Path(data_source) / f"processed.{site}.data").exists():
                assert any(site in line and "absent" in line for line in out.splitlines())

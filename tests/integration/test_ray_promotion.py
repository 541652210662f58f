"""The champion rule against a real (embedded) MLflow registry: publish records
the CV protocol, and a challenger cross-validated differently is not compared
with the champion, whatever its scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tests.integration.training_fixtures import mlflow_in_process
from training.champion import CHALLENGER, CHAMPION, PromotionRule, Scores, apply
from training.data import load_site
from training.evaluate import CVSettings, evaluate
from training.publish import publish
from training.tracking import MODEL_NAME, TrackingSettings, configure

pytestmark = pytest.mark.integration
SAME, OTHER = CVSettings(folds=3, repeats=1, seed=0), CVSettings(folds=4, repeats=1, seed=0)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, data_source: str) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("registry")
    with mlflow_in_process():
        configure(TrackingSettings(f"sqlite:///{folder / 'mlflow.db'}", "heart", folder / "mlruns"))
        yield folder


@pytest.fixture(scope="module")
def cleveland(data_source: str, registry: Path) -> tuple[np.ndarray, np.ndarray]:
    return load_site("cleveland", data_source, registry / "cache")


@pytest.fixture(scope="module")
def champion(registry: Path, cleveland) -> str:
    """A champion cross-validated with 3 folds x 1 repeat, seed 0; its version."""
    _publish(SAME, CHAMPION, cleveland, registry)
    return _alias(CHAMPION)


def _publish(cv: CVSettings, alias: str, data, folder: Path, c: float = 1.0) -> Scores:
    x, y = data
    result = evaluate("logistic_regression", {"C": c}, x, y, cv=cv)
    with mlflow.start_run():
        publish(result, x, y, out_dir=folder / alias, alias=alias, seed=cv.seed)
    return Scores.of(result, "cleveland")  # a run without train_sites: Cleveland alone


def _alias(name: str) -> str:
    return str(MlflowClient().get_model_version_by_alias(MODEL_NAME, name).version)


def test_publish_records_the_cv_protocol(champion: str) -> None:
    run = MlflowClient().get_model_version(MODEL_NAME, champion).run_id
    params = MlflowClient().get_run(str(run)).data.params
    protocol = {k: params[k] for k in ("cv_folds", "cv_repeats", "cv_seed")}
    assert protocol == {"cv_folds": "3", "cv_repeats": "1", "cv_seed": "0"}


def test_a_challenger_from_other_cv_settings_is_refused_with_the_reason(
    registry: Path, cleveland, champion: str
) -> None:
    current = _alias(CHAMPION)
    scores = _publish(OTHER, CHALLENGER, cleveland, registry)
    better = Scores(scores.roc_auc + 0.05, scores.brier - 0.05, scores.protocol)  # would win
    decision = apply(MODEL_NAME, _alias(CHALLENGER), better, PromotionRule())
    assert not decision.promote
    assert decision.reason == (
        "not comparable: CV settings differ (challenger 4 folds x 1 repeats, seed 0,"
        " champion 3 folds x 1 repeats, seed 0)"
    )
    assert _alias(CHAMPION) == current == decision.champion_version


def test_a_challenger_from_the_same_cv_settings_is_judged_on_its_scores(
    registry: Path, cleveland, champion: str
) -> None:
    scores = _publish(SAME, CHALLENGER, cleveland, registry, c=0.5)
    decision = apply(MODEL_NAME, _alias(CHALLENGER), scores, PromotionRule(min_gain=-1.0))
    assert decision.promote and decision.reason.startswith("ROC-AUC ")
    assert _alias(CHAMPION) == _alias(CHALLENGER)

"""Behavioural checks (training.behaviour) on exported model directories.

Both families as `make train` configures them pass; models that are wrong in
the ways the checks exist for (a marker read backwards, a model that reacts
to measurement noise) fail with the check named. The exported champion of the
real configuration is checked in tests/integration/test_training_quality.py,
and `make tune` runs the same function before promoting a challenger.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from training.behaviour import check_model_dir
from training.data import load_site
from training.export import write_model_dir
from training.pipelines import FAMILIES, build_pipeline
from transformer.contract import FEATURE_NAMES

pytestmark = pytest.mark.unit

OLDPEAK, CA = FEATURE_NAMES.index("oldpeak"), FEATURE_NAMES.index("ca")


@pytest.fixture(scope="module")
def cleveland(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    return load_site("cleveland", data_source, tmp_path_factory.mktemp("cache"))


def _export(pipeline: Pipeline, folder: Path) -> Path:
    write_model_dir(pipeline, folder, threshold=0.5, model_family="test")
    return folder


@pytest.fixture(scope="module", params=FAMILIES)
def model(request: pytest.FixtureRequest, cleveland) -> Pipeline:
    x, y = cleveland
    return build_pipeline(request.param, seed=0).fit(x, y)


def test_both_families_pass_every_check(model, cleveland, tmp_path: Path) -> None:
    assert check_model_dir(_export(model, tmp_path / "model"), *cleveland) == []


def test_a_model_that_reads_the_markers_backwards_fails(cleveland, tmp_path: Path) -> None:
    x, y = cleveland
    backwards = build_pipeline("logistic_regression", seed=0).fit(x, 1 - y)
    failures = check_model_dir(_export(backwards, tmp_path / "model"), x, y)
    kinds = {f.split(":")[0] for f in failures}
    assert kinds == {"directional", "minimum functionality"}, failures
    assert any(f.startswith("directional: ca +1 lowers the mean risk") for f in failures)
    assert any("textbook sick patient" in f for f in failures)


def test_a_model_that_reacts_to_measurement_noise_fails(cleveland, tmp_path: Path) -> None:
    x, y = cleveland
    parity = np.nan_to_num(x[:, FEATURE_NAMES.index("chol")]).astype(int) % 2  # noise, learnt
    params = {"n_estimators": 1, "max_depth": None, "min_samples_leaf": 1, "max_features": 1.0}
    jumpy = build_pipeline("random_forest", params, seed=0).fit(x, parity)
    failures = check_model_dir(_export(jumpy, tmp_path / "model"), x, y)
    assert any(f.startswith("invariance: measurement noise flips") for f in failures), failures


@pytest.mark.parametrize(("column", "grid"), [(OLDPEAK, [0, 0.5, 1, 2, 3, 4]), (CA, [0, 1, 2, 3])])
def test_the_markers_matter_not_merely_do_not_hurt(model, cleveland, column, grid):
    x, _ = cleveland
    means = []
    for value in grid:
        swept = x.copy()
        swept[:, column] = value
        means.append(model.predict_proba(swept)[:, 1].mean())
    assert means[-1] - means[0] > 0.1


def test_missing_optional_fields_are_imputed_not_fatal(model, cleveland):
    x, _ = cleveland
    holes = x.copy()
    for name in ("trestbps", "chol", "ca", "thal", "slope"):
        holes[::3, FEATURE_NAMES.index(name)] = np.nan
    assert np.isfinite(model.predict_proba(holes)[:, 1]).all()

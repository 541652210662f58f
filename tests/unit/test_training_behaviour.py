"""Behavioural tests of both model families as `make train` configures them.

Directional (more ST depression or more diseased vessels never lowers the
risk), invariance (measurement noise flips few labels) and minimum
functionality (textbook cases get the textbook answer).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from training.data import load_site
from training.pipelines import FAMILIES, build_pipeline
from transformer.contract import BY_NAME, FEATURE_NAMES, row_to_vector

pytestmark = pytest.mark.unit

OLDPEAK, CA = FEATURE_NAMES.index("oldpeak"), FEATURE_NAMES.index("ca")
THRESHOLD = 0.5


@pytest.fixture(scope="module")
def cleveland(data_source: str, tmp_path_factory: pytest.TempPathFactory):
    return load_site("cleveland", data_source, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module", params=FAMILIES)
def model(request: pytest.FixtureRequest, cleveland) -> Pipeline:
    x, y = cleveland
    return build_pipeline(request.param, seed=0).fit(x, y)


def _risk(model: Pipeline, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, 1]


@pytest.mark.parametrize(("column", "steps"), [(OLDPEAK, [0.5, 1.0, 2.0]), (CA, [1, 2])])
def test_raising_a_risk_marker_never_lowers_the_mean_risk(model, cleveland, column, steps):
    x, _ = cleveland
    top = BY_NAME[FEATURE_NAMES[column]].maximum
    before = _risk(model, x).mean()
    for step in steps:
        raised = x.copy()
        raised[:, column] = np.minimum(raised[:, column] + step, top)
        assert _risk(model, raised).mean() >= before, f"+{step} on {FEATURE_NAMES[column]}"


@pytest.mark.parametrize(("column", "grid"), [(OLDPEAK, [0, 0.5, 1, 2, 3, 4]), (CA, [0, 1, 2, 3])])
def test_mean_risk_rises_along_a_sweep(model, cleveland, column, grid):
    x, _ = cleveland
    means = []
    for value in grid:
        swept = x.copy()
        swept[:, column] = value
        means.append(_risk(model, swept).mean())
    assert means == sorted(means)
    assert means[-1] - means[0] > 0.1  # the marker matters, not merely "does not hurt"


def test_measurement_noise_flips_few_labels(model, cleveland):
    x, _ = cleveland
    rng = np.random.default_rng(0)
    noisy = x.copy()
    for name, scale in (("age", 1), ("trestbps", 4), ("chol", 8)):
        i = FEATURE_NAMES.index(name)
        noisy[:, i] = np.round(noisy[:, i] + rng.uniform(-scale, scale, len(x)))
    flipped = (_risk(model, x) >= THRESHOLD) != (_risk(model, noisy) >= THRESHOLD)
    assert flipped.mean() <= 0.05


def test_missing_optional_fields_are_imputed_not_fatal(model, cleveland):
    x, _ = cleveland
    holes = x.copy()
    for name in ("trestbps", "chol", "ca", "thal", "slope"):
        holes[::3, FEATURE_NAMES.index(name)] = np.nan
    risk = _risk(model, holes)
    assert np.isfinite(risk).all()


HEALTHY = {
    "age": 35, "sex": 0, "cp": 3, "trestbps": 115, "chol": 190, "fbs": 0, "restecg": 0,
    "thalach": 180, "exang": 0, "oldpeak": 0.0, "slope": 1, "ca": 0, "thal": 3,
}  # fmt: skip
SICK = {
    "age": 66, "sex": 1, "cp": 4, "trestbps": 160, "chol": 300, "fbs": 1, "restecg": 2,
    "thalach": 105, "exang": 1, "oldpeak": 3.5, "slope": 2, "ca": 3, "thal": 7,
}  # fmt: skip


def test_textbook_cases(model):
    cases = np.array([row_to_vector(HEALTHY), row_to_vector(SICK)], dtype=np.float32)
    healthy, sick = _risk(model, cases)
    assert healthy < 0.2
    assert sick > 0.8


def test_textbook_cases_survive_missing_optional_fields(model):
    partial = {k: v for k, v in SICK.items() if k not in ("ca", "thal", "chol")}
    risk = _risk(model, np.array([row_to_vector(partial)], dtype=np.float32))
    assert risk[0] > 0.5

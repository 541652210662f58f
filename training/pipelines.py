"""The two model families as scikit-learn Pipelines on the contract's matrix.

Input is the float32 matrix [N, 13] in contract order with NaN for missing
values; every learned preprocessing step (imputation, one-hot encoding,
scaling) lives inside the Pipeline so that ``model.joblib`` alone serves,
in our predictor and in stock runtimes alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from transformer.contract import CATEGORICAL_INDICES, FEATURE_NAMES, FEATURES, NUMERIC_INDICES

Family = Literal["random_forest", "logistic_regression"]
FAMILIES: tuple[Family, ...] = ("random_forest", "logistic_regression")

#: Default hyper-parameters of each family; tuning overrides them.
DEFAULTS: dict[Family, dict[str, Any]] = {
    "random_forest": {
        "n_estimators": 300,
        "max_depth": 6,
        "min_samples_leaf": 3,
        "max_features": "sqrt",
    },
    "logistic_regression": {"C": 0.3},
}


def _categories() -> list[list[float]]:
    return [sorted(float(c) for c in FEATURES[i].codes) for i in CATEGORICAL_INDICES]


def _preprocessor(scale: bool) -> ColumnTransformer:
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            (
                "onehot",
                OneHotEncoder(
                    categories=_categories(), handle_unknown="ignore", sparse_output=False
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), list(NUMERIC_INDICES)),
            ("categorical", categorical, list(CATEGORICAL_INDICES)),
        ]
    )


def build_pipeline(
    family: Family, params: Mapping[str, Any] | None = None, seed: int = 0
) -> Pipeline:
    """An unfitted Pipeline of ``family`` with ``params`` over the defaults."""
    chosen = {**DEFAULTS[family], **(params or {})}
    if family == "random_forest":
        estimator: Any = RandomForestClassifier(random_state=seed, n_jobs=1, **chosen)
        return Pipeline([("preprocess", _preprocessor(scale=False)), ("model", estimator)])
    if family == "logistic_regression":
        estimator = LogisticRegression(max_iter=2000, random_state=seed, **chosen)
        return Pipeline([("preprocess", _preprocessor(scale=True)), ("model", estimator)])
    raise ValueError(f"unknown model family {family!r}: choose one of {', '.join(FAMILIES)}")


Baseline = Literal["majority", "one_feature"]
BASELINES: tuple[Baseline, ...] = ("majority", "one_feature")
#: The one-feature baseline's feature: the strongest single predictor on
#: Cleveland (thallium stress test, ROC-AUC ~0.76 on its own).
ONE_FEATURE = "thal"
#: Fixed thresholds of baselines (others use the champion's rule): the
#: majority baseline predicts the majority class, "no disease", for everyone.
BASELINE_THRESHOLDS: dict[str, float] = {"majority": 0.5}


def build_baseline(kind: Baseline, feature: str = ONE_FEATURE) -> Pipeline:
    """A reference model the champion must beat.

    ``majority`` predicts the training prevalence for everyone (ROC-AUC 0.5);
    ``one_feature`` is a logistic regression on ``feature`` alone.
    """
    if kind == "majority":
        return Pipeline([("model", DummyClassifier(strategy="prior"))])
    if kind == "one_feature":
        index = FEATURE_NAMES.index(feature)
        categorical = FEATURES[index].kind == "categorical"
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="most_frequent"))]
        steps.append(
            ("encode", OneHotEncoder(handle_unknown="ignore") if categorical else StandardScaler())
        )
        select = ColumnTransformer([(feature, Pipeline(steps), [index])])
        return Pipeline([("preprocess", select), ("model", LogisticRegression(max_iter=2000))])
    raise ValueError(f"unknown baseline {kind!r}: choose one of {', '.join(BASELINES)}")


def feature_names_out(pipeline: Pipeline) -> list[str]:
    """Readable names of the Pipeline's internal features (after one-hot)."""
    names = pipeline.named_steps["preprocess"].get_feature_names_out()
    return [_readable(str(n)) for n in names]


def _readable(name: str) -> str:
    """'numeric__x0' -> 'age'; 'categorical__x1_1.0' -> 'sex=1'."""
    _, _, raw = name.partition("__")
    index, _, code = raw[1:].partition("_")
    feature = FEATURES[int(index)].name
    return f"{feature}={code.removesuffix('.0')}" if code else feature

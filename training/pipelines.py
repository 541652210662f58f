"""The model families as scikit-learn Pipelines on the contract's matrix.

Input is the float32 matrix [N, 13] in contract order with NaN for missing
values; every learned preprocessing step (imputation, one-hot encoding,
scaling, calibration) lives inside the Pipeline so that ``model.joblib``
alone serves, in our predictor and in stock runtimes alike.

Two options apply to every family (:data:`OPTIONS`, given in ``params``):

``missing`` - how the tests a site lacks are handled:
  ``impute`` (median / most frequent, nothing else: the single-site models),
  ``indicator`` (missing is information: a missing categorical code, such as
  the ``ca`` and ``thal`` most sites lack, gets its own one-hot column;
  numeric fields are median-imputed, since skl2onnx cannot compile
  ``add_indicator``; gradient boosting routes missing values natively),
  ``drop`` (the site-specific tests :data:`SITE_SPECIFIC` are left out, the
  rest imputed as in ``impute``).
``calibration`` - ``none``, ``sigmoid`` (Platt) or ``isotonic``: the
  estimator becomes a :class:`~sklearn.calibration.CalibratedClassifierCV`
  (:data:`CALIBRATION_FOLDS` internal folds, fitted inside each outer fold,
  so cross-validation scores the calibrated model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from transformer.contract import CATEGORICAL_INDICES, FEATURE_NAMES, FEATURES, NUMERIC_INDICES

Family = Literal["random_forest", "logistic_regression", "gradient_boosting"]
FAMILIES: tuple[Family, ...] = ("random_forest", "logistic_regression", "gradient_boosting")
Missing = Literal["impute", "indicator", "drop"]
MISSING: tuple[Missing, ...] = ("impute", "indicator", "drop")
Calibration = Literal["none", "sigmoid", "isotonic"]
CALIBRATIONS: tuple[Calibration, ...] = ("none", "sigmoid", "isotonic")
#: Pipeline options every family takes in ``params``, with their defaults.
OPTIONS: dict[str, Any] = {"missing": "impute", "calibration": "none"}
#: Tests most sites other than Cleveland lack (``missing="drop"`` leaves them out).
SITE_SPECIFIC: tuple[str, ...] = ("ca", "thal")
CALIBRATION_FOLDS = 2
#: Types of our fitted Pipelines that skops does not trust by default (MLflow's
#: sklearn flavour saves with skops): all scikit-learn's own.
SKOPS_TRUSTED_TYPES: list[str] = [
    "numpy.dtype",  # OneHotEncoder's dtype parameter
    "sklearn.tree._tree.Tree",  # the forest's trees
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]

#: Default hyper-parameters of each family; tuning overrides them.
DEFAULTS: dict[Family, dict[str, Any]] = {
    "random_forest": {
        "n_estimators": 100,
        "max_depth": 6,
        "min_samples_leaf": 3,
        "max_features": "sqrt",
    },
    "logistic_regression": {"C": 0.3},
    "gradient_boosting": {
        "learning_rate": 0.05,
        "max_iter": 100,
        "max_leaf_nodes": 8,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
    },
}


def _categories(indices: list[int], missing_code: bool) -> list[list[float]]:
    extra = [MISSING_CODE] if missing_code else []
    return [extra + sorted(float(c) for c in FEATURES[i].codes) for i in indices]


#: The code a missing categorical value gets under ``missing="indicator"``.
MISSING_CODE = -1.0


def kept_columns(missing: Missing) -> tuple[list[int], list[int]]:
    """(numeric, categorical) contract indices the model sees."""
    dropped = {FEATURE_NAMES.index(n) for n in SITE_SPECIFIC} if missing == "drop" else set()
    numeric = [i for i in NUMERIC_INDICES if i not in dropped]
    return numeric, [i for i in CATEGORICAL_INDICES if i not in dropped]


def _preprocessor(scale: bool, missing: Missing) -> ColumnTransformer:
    numeric, categorical = kept_columns(missing)
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    indicator = missing == "indicator"
    impute = (
        SimpleImputer(strategy="constant", fill_value=MISSING_CODE)
        if indicator
        else SimpleImputer(strategy="most_frequent")
    )
    onehot = OneHotEncoder(
        categories=_categories(categorical, indicator), handle_unknown="ignore", sparse_output=False
    )
    return ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), numeric),
            ("categorical", Pipeline([("impute", impute), ("onehot", onehot)]), categorical),
        ]
    )


#: Markers whose risk only rises with the value (ST depression, vessels
#: coloured): gradient boosting is constrained to respect it, as the
#: behavioural checks demand (:mod:`training.behaviour`).
INCREASING: tuple[str, ...] = ("oldpeak", "ca")


def _boosting_preprocessor(missing: Missing) -> tuple[ColumnTransformer, list[int]]:
    """Gradient boosting takes the raw codes (missing values routed natively under
    ``indicator``); returns the transformer and the contract index of each output column."""
    numeric, categorical = kept_columns(missing)
    if missing == "indicator":
        columns = sorted(numeric + categorical)
        return ColumnTransformer([("raw", "passthrough", columns)]), columns
    steps = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), numeric),
            ("categorical", SimpleImputer(strategy="most_frequent"), categorical),
        ]
    )
    return steps, numeric + categorical


def _monotonic(columns: list[int]) -> list[int]:
    increasing = {FEATURE_NAMES.index(n) for n in INCREASING}
    return [1 if c in increasing else 0 for c in columns]


def split_options(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pipeline options with defaults, the estimator's own params)."""
    given = dict(params or {})
    options = {k: given.pop(k, v) for k, v in OPTIONS.items()}
    if options["missing"] not in MISSING:
        raise ValueError(f"missing={options['missing']!r}: choose one of {', '.join(MISSING)}")
    if options["calibration"] not in CALIBRATIONS:
        raise ValueError(
            f"calibration={options['calibration']!r}: choose one of {', '.join(CALIBRATIONS)}"
        )
    return options, given


def build_pipeline(
    family: Family, params: Mapping[str, Any] | None = None, seed: int = 0
) -> Pipeline:
    """An unfitted Pipeline of ``family``: ``params`` (and :data:`OPTIONS`) over the defaults."""
    options, own = split_options(params)
    chosen = {**DEFAULTS.get(family, {}), **own}
    missing: Missing = options["missing"]
    if family == "random_forest":
        estimator: Any = RandomForestClassifier(random_state=seed, n_jobs=1, **chosen)
        preprocess = _preprocessor(scale=False, missing=missing)
    elif family == "logistic_regression":
        estimator = LogisticRegression(max_iter=2000, random_state=seed, **chosen)
        preprocess = _preprocessor(scale=True, missing=missing)
    elif family == "gradient_boosting":
        preprocess, columns = _boosting_preprocessor(missing)
        chosen.setdefault("monotonic_cst", _monotonic(columns))
        estimator = HistGradientBoostingClassifier(random_state=seed, **chosen)
    else:
        raise ValueError(f"unknown model family {family!r}: choose one of {', '.join(FAMILIES)}")
    if options["calibration"] != "none":
        estimator = CalibratedClassifierCV(
            estimator, method=options["calibration"], cv=CALIBRATION_FOLDS
        )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


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
    """'numeric__x0' -> 'age'; 'categorical__x1_1.0' -> 'sex=1'; 'x11_-1.0' -> 'ca missing'."""
    _, _, raw = name.partition("__")
    index, _, code = raw[1:].partition("_")
    feature = FEATURES[int(index)].name
    if code and float(code) == MISSING_CODE:
        return f"{feature} missing"
    return f"{feature}={code.removesuffix('.0')}" if code else feature

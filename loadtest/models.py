"""The benchmark's two model directories, exported exactly as training exports.

Random Forest: ``--rf-trees`` trees (default 100, the issue's reference
conditions). The trained ``artifacts/model`` is used when it is a forest with
exactly that many trees; otherwise a forest with the project's other default
parameters and that many trees is fitted on the Cleveland data. Tree count
matters for fairness: scikit-learn's per-call cost grows with the trees, the
compiled path's barely, so more trees inflate our ratios.
Logistic regression: always fitted here. Both go through
:func:`training.pipelines.build_pipeline` and
:func:`training.export.write_model_dir`, so every server loads the same
``model.joblib`` a real deployment would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from predictor.manifest import ManifestError, read
from training.pipelines import Family

#: What each benchmark model is called in reports.
SHORT: dict[Family, str] = {"random_forest": "RF", "logistic_regression": "LR"}
#: Trees in the benchmark's forest unless told otherwise: the issue's reference run.
BENCH_RF_TREES = 100


def forest_trees(model_dir: Path) -> int | None:
    """How many trees the forest exported in ``model_dir`` has (None: not a forest export)."""
    try:
        manifest = read(model_dir)
    except ManifestError:
        return None
    if manifest.model_family != "random_forest":
        return None
    import joblib

    return int(joblib.load(model_dir / "model.joblib").named_steps["model"].n_estimators)


def fit_model_dir(
    family: Family, out_dir: Path, data_source: str | None, params: dict[str, Any] | None = None
) -> Path:
    """Fit ``family`` (default parameters, overridden by ``params``) on Cleveland; export it."""
    from training.data import load_site
    from training.export import write_model_dir
    from training.pipelines import build_pipeline

    x, y = load_site("cleveland", data_source)
    pipeline = build_pipeline(family, params, seed=0).fit(x, y)
    write_model_dir(
        pipeline,
        out_dir,
        threshold=0.5,
        data=x,
        model_family=family,
        model_version="bench",
        threshold_rule="0.5 (benchmark model, not tuned)",
    )
    return out_dir


def forest_dir(work: Path, trained: Path | None, data_source: str | None, trees: int) -> Path:
    """``trained`` when it is a ``trees``-tree forest export, else a fitted one in ``work``."""
    if trained is not None and forest_trees(trained) == trees:
        return trained
    return fit_model_dir("random_forest", work / "rf", data_source, {"n_estimators": trees})


def model_dirs(
    work: Path, trained: Path | None, data_source: str | None, rf_trees: int = BENCH_RF_TREES
) -> dict[str, Path]:
    """``{"RF": dir, "LR": dir}`` for the benchmark."""
    return {
        "RF": forest_dir(work, trained, data_source, rf_trees),
        "LR": fit_model_dir("logistic_regression", work / "lr", data_source),
    }

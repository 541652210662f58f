"""The benchmark's two model directories, exported exactly as training exports.

Random Forest: the trained ``artifacts/model`` when it exists (and is a
forest), else a default-parameter forest fitted on the Cleveland data.
Logistic regression: always fitted here. Both go through
:func:`training.pipelines.build_pipeline` and
:func:`training.export.write_model_dir`, so every server loads the same
``model.joblib`` a real deployment would.
"""

from __future__ import annotations

from pathlib import Path

from predictor.manifest import ManifestError, read
from training.pipelines import Family

#: What each benchmark model is called in reports.
SHORT: dict[Family, str] = {"random_forest": "RF", "logistic_regression": "LR"}


def trained_forest(model_dir: Path) -> Path | None:
    """``model_dir`` when it holds a verified-looking Random Forest export."""
    try:
        manifest = read(model_dir)
    except ManifestError:
        return None
    return model_dir if manifest.model_family == "random_forest" else None


def fit_model_dir(family: Family, out_dir: Path, data_source: str | None) -> Path:
    """Fit ``family`` (default parameters) on Cleveland and export it to ``out_dir``."""
    from training.data import load_site
    from training.export import write_model_dir
    from training.pipelines import build_pipeline

    x, y = load_site("cleveland", data_source)
    pipeline = build_pipeline(family, seed=0).fit(x, y)
    write_model_dir(
        pipeline, out_dir, threshold=0.5, model_family=family, model_version="bench",
        threshold_rule="0.5 (benchmark model, not tuned)",
    )  # fmt: skip
    return out_dir


def model_dirs(work: Path, trained: Path | None, data_source: str | None) -> dict[str, Path]:
    """``{"RF": dir, "LR": dir}`` for the benchmark."""
    forest = trained_forest(trained) if trained else None
    return {
        "RF": forest or fit_model_dir("random_forest", work / "rf", data_source),
        "LR": fit_model_dir("logistic_regression", work / "lr", data_source),
    }

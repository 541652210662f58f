"""Log the heart model as one MLflow model with two flavours, and register it.

* ``python_function``: :mod:`training.pyfunc_model` (models from code) on
  the exported ``model/`` directory. ``mlflow.pyfunc.load_model(...).predict``,
  ``mlflow models serve`` (JSON and CSV) and ``spark_udf`` take a DataFrame of
  the 13 named contract columns (float64, NaN = missing) and answer ``risk``
  and ``label`` as the transformer does. The code it runs (the contract,
  the transformer's validation, the predictor's loading) is copied into the
  model's ``code/`` folder (:data:`SHIPPED`), so serving it needs the pip
  requirements only, not this project.
* ``sklearn``: the fitted Pipeline itself (skops format), for
  ``mlflow.sklearn.load_model(...).predict_proba`` on the float32 matrix.

Both flavours live in the same registered version, so
``models:/heart@champion`` works with either loader.
"""

from __future__ import annotations

import importlib.metadata as md
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import skops.io
from mlflow import pyfunc
from mlflow import sklearn as mlflow_sklearn
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, Schema
from sklearn.pipeline import Pipeline

from transformer.contract import FEATURES

#: The folder holding this project's packages (the checkout, or site-packages).
_PACKAGES = Path(__file__).resolve().parent.parent
#: The model's code (run by MLflow at load time, never imported here).
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")
#: The name under which the model directory reaches the pyfunc (its ``MODEL_DIR_ARTIFACT``).
MODEL_DIR_ARTIFACT = "model_dir"
#: The project modules the pyfunc runs, copied into the model's ``code/``
#: folder as namespace packages (no ``__init__.py``): where this project is
#: installed, its own regular packages take precedence.
SHIPPED = (
    "transformer/contract.py",
    "transformer/validation.py",
    "serving/problems.py",
    "serving/profile.py",
    "predictor/inference.py",
    "predictor/engines.py",
    "predictor/manifest.py",
)
#: Distributions the model needs at serving time (pinned to this environment's).
REQUIREMENTS = ("mlflow", "numpy", "pandas", "scikit-learn", "joblib", "onnxruntime", "skops")
#: Folder of the sklearn flavour inside the MLflow model.
SKLEARN_FOLDER = "sklearn"


def signature() -> ModelSignature:
    """13 named float64 columns in, ``risk`` (float32) and ``label`` (string) out.

    A column is required when the contract forbids it to be missing (age,
    sex, cp); the others may be absent or hold NaN.
    """
    inputs = Schema([ColSpec("double", f.name, required=not f.nullable) for f in FEATURES])
    return ModelSignature(inputs, Schema([ColSpec("float", "risk"), ColSpec("string", "label")]))


def input_example(x: np.ndarray) -> pd.DataFrame:
    """Four complete rows of ``x`` and one with a missing value, as a float64 DataFrame."""
    missing = np.isnan(x).any(axis=1)
    rows = np.concatenate([x[~missing][:4], x[missing][:1]])
    return pd.DataFrame(rows.astype(np.float64), columns=[f.name for f in FEATURES])


def requirements() -> list[str]:
    return [f"{name}=={md.version(name)}" for name in REQUIREMENTS]


def log_model(
    pipeline: Pipeline, model_dir: Path, x: np.ndarray, model_name: str, name: str = "heart"
) -> str:
    """Log the model into the active run, register it under ``model_name``; returns the version."""
    with _shipped_code() as code_paths:
        info = Model.log(
            artifact_path=None,
            name=name,
            flavor=SimpleNamespace(save_model=_save_model, __name__="mlflow.pyfunc"),
            registered_model_name=model_name,
            pipeline=pipeline,
            python_model=str(MODEL_CODE),
            artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
            code_paths=code_paths,
            signature=signature(),
            input_example=input_example(x),
            pip_requirements=requirements(),
        )
    return str(info.registered_model_version)


def _save_model(path: str, mlflow_model: Model, pipeline: Pipeline, **kwargs: Any) -> None:
    """The pyfunc flavour (MLflow's own save), then the sklearn flavour beside it."""
    pyfunc.save_model(path, mlflow_model=mlflow_model, **kwargs)
    sklearn_model = Model()
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    mlflow_sklearn.save_model(
        pipeline,
        str(Path(path) / SKLEARN_FOLDER),
        mlflow_model=sklearn_model,
        serialization_format=mlflow_sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=trusted,  # our own Pipeline's types, serialized just now
        pip_requirements=kwargs["pip_requirements"],
    )
    conf = dict(sklearn_model.flavors[mlflow_sklearn.FLAVOR_NAME])
    conf["pickled_model"] = f"{SKLEARN_FOLDER}/{conf['pickled_model']}"
    mlflow_model.add_flavor(mlflow_sklearn.FLAVOR_NAME, **conf)
    mlflow_model.save(str(Path(path) / "MLmodel"))


@contextmanager
def _shipped_code() -> Iterator[list[str]]:
    """The :data:`SHIPPED` files, laid out as packages in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="heart-code-") as tmp:
        root = Path(tmp)
        for relative in SHIPPED:
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_PACKAGES / relative, target)
        yield sorted(str(p) for p in root.iterdir())

"""The MLflow pyfunc of the heart model: patient rows in, ``risk`` and ``label`` out.

This file is the model's code ("models from code"): :mod:`training.pyfunc`
logs it, MLflow copies it into the model and runs it at load time, and its
last line hands MLflow the model (``set_model``). It imports no ``training``
module. What it runs travels with the model under ``code/``: the
transformer's validation (:func:`transformer.validation.columns_to_matrix`,
with the contract it checks) and the predictor's loading and scoring
(:func:`predictor.inference.load` and :func:`~predictor.inference.predict`),
the code the servers and the batch scorer run. Answers are therefore the
transformer's: P(disease) as float32 and ``"disease"`` / ``"no disease"`` at
the threshold of ``model.json``; a row that breaks the contract is refused
with the transformer's message (row, field, allowed values).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import set_model
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from predictor import inference
from serving.problems import ValidationError
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES, LABELS
from transformer.validation import columns_to_matrix

#: The artifact (a KServe model directory: model.onnx, model.joblib, model.json).
MODEL_DIR_ARTIFACT = "model_dir"
#: Scoring engine of :func:`predictor.inference.load` (the predictor's default).
ENGINE = "onnx"
_LABELS = np.array(LABELS, dtype=object)


class HeartModel(PythonModel):
    """Scores a DataFrame of the 13 contract columns (float64, NaN = missing)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load and verify the model directory; refuse one trained on another contract."""
        self.model = inference.load(context.artifacts[MODEL_DIR_ARTIFACT], ENGINE)
        trained_on = self.model.manifest.contract_hash
        if trained_on != CONTRACT_HASH:
            raise MlflowException(
                f"the model was trained on contract {trained_on[:12]}, the code shipped"
                f" with it checks contract {CONTRACT_HASH[:12]}; refusing a mismatched pair"
            )

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: Any = None
    ) -> pd.DataFrame:
        """``risk`` (float32 P(disease)) and ``label`` per row, in input order."""
        frame = pd.DataFrame(model_input)
        columns = {name: _values(frame[name]) for name in FEATURE_NAMES if name in frame}
        try:
            matrix = columns_to_matrix(columns, max_rows=max(len(frame), 1))
        except ValidationError as exc:
            raise MlflowException.invalid_parameter_value(str(exc)) from None
        prediction = inference.predict(self.model, matrix)
        return pd.DataFrame(
            {"risk": prediction.probability, "label": _LABELS[prediction.label]},
            index=frame.index,
        )


def _values(column: pd.Series) -> list[object]:
    """A column as Python values, missing (NaN) as None: what a server sees as JSON null."""
    values = column.astype(object).where(column.notna(), None)
    return list(values.tolist())


set_model(HeartModel())

"""What the model answers, in Prometheus: labels, risk, and which model answers.

- ``heart_predictions_total{model_version, label}``: rows scored, by label
  (``disease`` / ``no_disease``);
- ``heart_risk_score{model_version}``: histogram of P(disease), 0.1-wide
  buckets refined to 0.01 within 0.05 of the model's threshold (a person
  near the threshold is where a shift changes answers);
- ``heart_model_info{model_name, model_version, family, contract_hash,
  sklearn_version, engine}`` = 1 for the loaded model.

Label values come from ``model.json`` (the operator's file), never a request.
"""

from __future__ import annotations

import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from predictor.inference import LoadedModel, Prediction
from serving.telemetry import observe_many

LABELS = ("no_disease", "disease")
PREDICTIONS = Counter(
    "heart_predictions",
    "Rows scored by the model, by model version and label",
    ["model_version", "label"],
)
INFO = Gauge(
    "heart_model_info",
    "The loaded model (value 1): name, version, family, contract hash, scikit-learn, engine",
    ["model_name", "model_version", "family", "contract_hash", "sklearn_version", "engine"],
    multiprocess_mode="livemax",
)
#: The risk histogram, created at the first load (its buckets follow the threshold).
_RISK: dict[str, Histogram] = {}


def risk_buckets(threshold: float) -> list[float]:
    """0.1 steps, plus 0.01 steps within 0.05 of ``threshold``, in (0, 1)."""
    coarse = {round(i / 10, 2) for i in range(1, 10)}
    fine = {round(threshold + i / 100, 2) for i in range(-5, 6)}
    return sorted(b for b in coarse | fine if 0.0 < b < 1.0)


def loaded(model: LoadedModel, model_name: str) -> None:
    """Publish the model-info gauge; create the risk histogram for its threshold (once)."""
    m = model.manifest
    INFO.labels(
        model_name,
        version(model),
        m.model_family or "unknown",
        m.contract_hash,
        m.sklearn_version,
        model.serving,
    ).set(1)
    if not _RISK:
        _RISK["risk"] = Histogram(
            "heart_risk_score",
            "P(disease) of each row scored, by model version",
            ["model_version"],
            buckets=risk_buckets(m.threshold),
        )


def version(model: LoadedModel) -> str:
    return model.manifest.model_version or "unversioned"


def scored(model: LoadedModel, prediction: Prediction) -> None:
    """Count one request's rows by label and add their risks to the histogram."""
    label_version = version(model)
    positives = int(np.count_nonzero(prediction.label))
    for name, count in zip(LABELS, (len(prediction.label) - positives, positives), strict=True):
        if count:
            PREDICTIONS.labels(label_version, name).inc(count)
    if _RISK:
        observe_many(_RISK["risk"].labels(label_version), prediction.probability)

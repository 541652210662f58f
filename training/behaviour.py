"""Behavioural checks of an exported ``model/``: what a clinician would take for granted.

:func:`check_model_dir` loads a model directory the way the servers do
(:func:`predictor.inference.load`: sha256 and scikit-learn version verified)
and runs three kinds of checks on a dataset (x, y), returning one line per
failure (an empty list: the model passes):

* **directional**: raising ``oldpeak`` (ST depression) or ``ca`` (diseased
  vessels) never lowers the mean risk over the dataset, step by step and
  along a sweep of each marker's values;
* **invariance**: measurement noise on age (±1 y), blood pressure (±4 mmHg)
  and cholesterol (±8 mg/dl) flips at most :data:`MAX_FLIPPED` of the labels
  at the model's own threshold;
* **minimum functionality**: textbook healthy and sick patients get the
  textbook answer clearly, the sick one even with ``ca``, ``thal`` and
  ``chol`` missing, and the model's labels beat always answering the
  majority class on (x, y).

``make train``'s quality tests run them on the exported champion; ``make
tune`` runs them on the challenger and never promotes one that fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from predictor import inference
from transformer.contract import BY_NAME, FEATURE_NAMES, row_to_vector

Risk = Callable[[np.ndarray], np.ndarray]

#: Raised by these steps (capped at the contract's maximum), and swept over these values.
STEPS: dict[str, tuple[float, ...]] = {"oldpeak": (0.5, 1.0, 2.0), "ca": (1.0, 2.0)}
SWEEPS: dict[str, tuple[float, ...]] = {"oldpeak": (0, 0.5, 1, 2, 3, 4), "ca": (0, 1, 2, 3)}
#: Half-width of the uniform measurement noise per field, and the share of labels it may flip.
NOISE: dict[str, float] = {"age": 1, "trestbps": 4, "chol": 8}
MAX_FLIPPED = 0.05
HEALTHY = {
    "age": 35,
    "sex": 0,
    "cp": 3,
    "trestbps": 115,
    "chol": 190,
    "fbs": 0,
    "restecg": 0,
    "thalach": 180,
    "exang": 0,
    "oldpeak": 0.0,
    "slope": 1,
    "ca": 0,
    "thal": 3,
}
SICK = {
    "age": 66,
    "sex": 1,
    "cp": 4,
    "trestbps": 160,
    "chol": 300,
    "fbs": 1,
    "restecg": 2,
    "thalach": 105,
    "exang": 1,
    "oldpeak": 3.5,
    "slope": 2,
    "ca": 3,
    "thal": 7,
}
#: "Clearly": the healthy case below this risk, the sick case above 1 minus it.
CLEAR = 0.2


def check_model_dir(path: Path | str, x: np.ndarray, y: np.ndarray) -> list[str]:
    """Every failed check of the model in ``path`` on (x, y), one line each."""
    model = inference.load(path, "onnx")

    def risk(matrix: np.ndarray) -> np.ndarray:
        return inference.predict(model, matrix).probability.astype(np.float64)

    threshold = model.manifest.threshold
    return [
        *directional(risk, x),
        *invariance(risk, x, threshold),
        *minimum_functionality(risk, x, y, threshold),
    ]


def directional(risk: Risk, x: np.ndarray) -> list[str]:
    failures = []
    for name in STEPS:
        failures += _raised(risk, x, name) + _swept(risk, x, name)
    return failures


def _raised(risk: Risk, x: np.ndarray, name: str) -> list[str]:
    """Each patient's marker raised by each step (capped at the contract's maximum)."""
    i, top = FEATURE_NAMES.index(name), BY_NAME[name].maximum or np.inf
    before, failures = risk(x).mean(), []
    for step in STEPS[name]:
        raised = x.copy()
        raised[:, i] = np.minimum(raised[:, i] + step, top)
        after = risk(raised).mean()
        if after < before:
            failures.append(
                f"directional: {name} +{step:g} lowers the mean risk ({before:.4f} -> {after:.4f})"
            )
    return failures


def _swept(risk: Risk, x: np.ndarray, name: str) -> list[str]:
    """Every patient's marker set to each value of the sweep in turn."""
    i = FEATURE_NAMES.index(name)
    means = [risk(_set(x, i, value)).mean() for value in SWEEPS[name]]
    if all(b >= a for a, b in itertools.pairwise(means)):
        return []
    sweep = ", ".join(f"{v:g}: {m:.3f}" for v, m in zip(SWEEPS[name], means, strict=True))
    return [f"directional: mean risk falls along the {name} sweep ({sweep})"]


def invariance(risk: Risk, x: np.ndarray, threshold: float, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    noisy = x.copy()
    for name, scale in NOISE.items():
        i = FEATURE_NAMES.index(name)
        noisy[:, i] = np.round(noisy[:, i] + rng.uniform(-scale, scale, len(x)))
    flipped = float(((risk(x) >= threshold) != (risk(noisy) >= threshold)).mean())
    if flipped > MAX_FLIPPED:
        return [
            f"invariance: measurement noise flips {flipped:.1%} of the labels"
            f" (allowed {MAX_FLIPPED:.0%})"
        ]
    return []


def minimum_functionality(risk: Risk, x: np.ndarray, y: np.ndarray, threshold: float) -> list[str]:
    partial = {k: v for k, v in SICK.items() if k not in ("ca", "thal", "chol")}
    cases = np.array([row_to_vector(r) for r in (HEALTHY, SICK, partial)], dtype=np.float32)
    healthy, sick, sick_partial = risk(cases)
    failures = []
    if not (healthy < min(CLEAR, threshold)):
        failures.append(f"minimum functionality: textbook healthy patient at risk {healthy:.3f}")
    if not (sick > max(1 - CLEAR, threshold)):
        failures.append(f"minimum functionality: textbook sick patient at risk {sick:.3f}")
    if not (sick_partial >= threshold):
        failures.append(
            f"minimum functionality: sick patient without ca/thal/chol at risk"
            f" {sick_partial:.3f} < threshold {threshold:.3f}"
        )
    accuracy, majority = float(((risk(x) >= threshold) == y).mean()), max(y.mean(), 1 - y.mean())
    if accuracy <= majority:
        failures.append(
            f"minimum functionality: accuracy {accuracy:.3f} does not beat the"
            f" majority class ({majority:.3f})"
        )
    return failures


def _set(x: np.ndarray, column: int, value: float) -> np.ndarray:
    out = x.copy()
    out[:, column] = value
    return out

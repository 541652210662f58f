"""The hyper-parameter search space of ``make tune``, documented in one place.

Each family's parameters are declared once in :data:`SPACE` as plain data;
:func:`param_space` turns it into Ray Tune domains (which Ray's
``OptunaSearch`` converts to Optuna distributions), :func:`describe` into
the table ``python -m training tune --show-space`` prints and the README
shows. A trial samples ``family`` and every family's parameters;
:func:`trial_params` keeps only the chosen family's (the others are unused),
so that a trial's config maps onto ``build_pipeline(family, params)``.

| family | parameter | range | scale |
|---|---|---|---|
| random_forest | n_estimators | 100 .. 500, step 50 | linear |
| random_forest | max_depth | 3 .. 12 | linear |
| random_forest | min_samples_leaf | 1 .. 10 | linear |
| random_forest | max_features | sqrt, log2, 0.5 | choice |
| logistic_regression | C | 0.001 .. 10.0 | log |
| logistic_regression | class_weight | none, balanced | choice |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ray import tune

from training.pipelines import FAMILIES, Family


@dataclass(frozen=True)
class Param:
    """One searched hyper-parameter: an integer/float range or a choice.

    ``low``/``high`` are inclusive; ``step`` quantises integers; ``log``
    samples uniformly in log space; ``choices`` makes it categorical.
    """

    low: float = 0.0
    high: float = 0.0
    step: int = 1
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def domain(self) -> Any:
        if self.choices:
            return tune.choice(list(self.choices))
        if self.integer:
            return tune.qrandint(int(self.low), int(self.high), self.step)
        return (
            tune.loguniform(self.low, self.high) if self.log else tune.uniform(self.low, self.high)
        )

    def describe(self) -> tuple[str, str]:
        if self.choices:
            return ", ".join("none" if c is None else str(c) for c in self.choices), "choice"
        step = f", step {self.step}" if self.integer and self.step > 1 else ""
        low, high = (int(self.low), int(self.high)) if self.integer else (self.low, self.high)
        return f"{low} .. {high}{step}", "log" if self.log else "linear"


#: Family -> parameter -> how it is searched. Parameters not listed keep
#: :data:`training.pipelines.DEFAULTS`.
SPACE: dict[Family, dict[str, Param]] = {
    "random_forest": {
        "n_estimators": Param(100, 500, step=50, integer=True),
        "max_depth": Param(3, 12, integer=True),
        "min_samples_leaf": Param(1, 10, integer=True),
        "max_features": Param(choices=("sqrt", "log2", 0.5)),
    },
    "logistic_regression": {
        "C": Param(1e-3, 10.0, log=True),
        "class_weight": Param(choices=(None, "balanced")),
    },
}


def param_space(families: tuple[Family, ...] = FAMILIES) -> dict[str, Any]:
    """Ray Tune's ``param_space``: ``{"family": choice, family: {param: domain}}``."""
    space: dict[str, Any] = {"family": tune.choice(list(families))}
    for family in families:
        space[family] = {name: p.domain() for name, p in SPACE[family].items()}
    return space


def trial_params(config: Mapping[str, Any]) -> tuple[Family, dict[str, Any]]:
    """The trial's family and that family's sampled parameters (plain Python types)."""
    family: Family = config["family"]
    if family not in SPACE:
        raise ValueError(f"unknown family {family!r} in trial config: choose from {FAMILIES}")
    return family, {k: _plain(v) for k, v in config.get(family, {}).items()}


def _plain(value: Any) -> Any:
    """numpy scalars (what samplers return) as int/float for sklearn and MLflow."""
    return value.item() if hasattr(value, "item") else value


def describe() -> list[tuple[str, str, str, str]]:
    """Rows (family, parameter, range, scale) of the search space."""
    return [
        (family, name, *param.describe())
        for family, params in SPACE.items()
        for name, param in params.items()
    ]

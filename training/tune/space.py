"""The hyper-parameter search space of ``make tune``, documented in one place.

Each family's parameters are declared once in :data:`SPACE` as plain data.
The space is *conditional* (define-by-run): :func:`define_by_run` first
asks Optuna for the family, then only that family's parameters, so TPE
never samples (and Ray's trial table never shows) another family's values.
Parameters are named ``<family>/<name>``; Ray's ``OptunaSearch`` unflattens
them into ``{"family": ..., <family>: {name: value}}``, which
:func:`trial_params` maps onto ``build_pipeline(family, params)``;
:func:`describe` gives the table ``python -m training tune --show-space``
prints and docs/ray.md shows.

| family | parameter | range | scale |
|---|---|---|---|
| random_forest | n_estimators | 50 .. 300, step 50 | linear |
| random_forest | max_depth | 3 .. 12 | linear |
| random_forest | min_samples_leaf | 1 .. 10 | linear |
| random_forest | max_features | sqrt, log2, 0.5 | choice |
| random_forest | missing | indicator, drop | choice |
| logistic_regression | C | 0.001 .. 10.0 | log |
| logistic_regression | class_weight | none, balanced | choice |
| logistic_regression | missing | indicator, drop | choice |
| gradient_boosting | learning_rate | 0.01 .. 0.3 | log |
| gradient_boosting | max_iter | 50 .. 300, step 50 | linear |
| gradient_boosting | max_leaf_nodes | 4 .. 31 | linear |
| gradient_boosting | min_samples_leaf | 5 .. 50 | linear |
| gradient_boosting | l2_regularization | 0.001 .. 10.0 | log |
| gradient_boosting | missing | indicator, drop | choice |
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from training.pipelines import FAMILIES, Family

if TYPE_CHECKING:
    import optuna


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

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """Ask ``trial`` for this parameter under ``name``."""
        if self.choices:
            return trial.suggest_categorical(name, list(self.choices))
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), step=self.step)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def describe(self) -> tuple[str, str]:
        if self.choices:
            return ", ".join("none" if c is None else str(c) for c in self.choices), "choice"
        step = f", step {self.step}" if self.integer and self.step > 1 else ""
        low, high = (int(self.low), int(self.high)) if self.integer else (self.low, self.high)
        return f"{low} .. {high}{step}", "log" if self.log else "linear"


#: Family -> parameter -> how it is searched. Parameters not listed keep
#: :data:`training.pipelines.DEFAULTS`.
MISSING = Param(choices=("indicator", "drop"))
SPACE: dict[Family, dict[str, Param]] = {
    "random_forest": {
        "n_estimators": Param(50, 300, step=50, integer=True),
        "max_depth": Param(3, 12, integer=True),
        "min_samples_leaf": Param(1, 10, integer=True),
        "max_features": Param(choices=("sqrt", "log2", 0.5)),
        "missing": MISSING,
    },
    "logistic_regression": {
        "C": Param(1e-3, 10.0, log=True),
        "class_weight": Param(choices=(None, "balanced")),
        "missing": MISSING,
    },
    "gradient_boosting": {
        "learning_rate": Param(0.01, 0.3, log=True),
        "max_iter": Param(50, 300, step=50, integer=True),
        "max_leaf_nodes": Param(4, 31, integer=True),
        "min_samples_leaf": Param(5, 50, integer=True),
        "l2_regularization": Param(1e-3, 10.0, log=True),
        "missing": MISSING,
    },
}
#: Separates family and parameter in Optuna's names (Ray unflattens on it).
SEPARATOR = "/"


def define_by_run(
    families: tuple[Family, ...] = FAMILIES,
) -> Callable[[optuna.Trial], None]:
    """The conditional space for ``OptunaSearch(space=...)``: a family, then its parameters.

    A ``partial`` of a module function, not a closure: Ray pickles the searcher
    (and with it this callable) into every experiment checkpoint, for ``--resume``.
    """
    return functools.partial(suggest, families=tuple(f for f in families if f in SPACE))


def suggest(trial: optuna.Trial, families: tuple[Family, ...] = FAMILIES) -> None:
    """Ask ``trial`` for a family, then for that family's parameters only."""
    family = cast(Family, trial.suggest_categorical("family", list(families)))
    for name, param in SPACE[family].items():
        param.suggest(trial, f"{family}{SEPARATOR}{name}")


def unflatten(params: Mapping[str, Any]) -> dict[str, Any]:
    """Optuna's flat ``{"family": f, "f/name": v}`` as a trial config (what Ray passes)."""
    config: dict[str, Any] = {}
    for key, value in params.items():
        family, sep, name = key.partition(SEPARATOR)
        if sep:
            config.setdefault(family, {})[name] = value
        else:
            config[key] = value
    return config


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

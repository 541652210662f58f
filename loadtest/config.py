"""The load-test config file (``loadtest/loadtest.toml``): SLOs, bounds, traffic, stages.

SLOs are per route (:mod:`loadtest.routes`): ``[slo]`` holds the defaults,
and a ``[routes."<name>"]`` table overrides any of them for that route.
Standard library only: Locust's processes, the runner and the tests all
read it the same way, and a malformed file fails with the key that is wrong.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from loadtest.routes import ROUTES

DEFAULT_CONFIG = Path(__file__).resolve().parent / "loadtest.toml"


class ConfigError(ValueError):
    """The config file is missing a key or holds a value of the wrong kind."""


@dataclass(frozen=True)
class Slo:
    """Breached when p95/p99 latency (ms) is above, the error share above, or req/s below."""

    p95_ms: float
    p99_ms: float
    max_error_rate: float
    min_rps: float


@dataclass(frozen=True)
class Bounds:
    max_run_time_s: float
    max_requests: int


@dataclass(frozen=True)
class Traffic:
    invalid_share: float
    batch_share: float
    max_batch_rows: int


@dataclass(frozen=True)
class Stage:
    duration_s: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class LoadConfig:
    #: The defaults: what a route without its own table is held to.
    slo: Slo
    bounds: Bounds
    traffic: Traffic
    stages: tuple[Stage, ...]
    #: Routes with their own table, every field resolved (defaults filled in).
    routes: dict[str, Slo]

    @property
    def total_s(self) -> float:
        return sum(stage.duration_s for stage in self.stages)

    @property
    def run_time_s(self) -> float:
        """How long a run lasts: the stages, cut at the ``max_run_time_s`` bound."""
        return min(self.total_s, self.bounds.max_run_time_s)

    def slo_for(self, route: str) -> Slo:
        return self.routes.get(route, self.slo)


def _number(cls: type, name: str, value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{name}: expected a number, got {value!r}")
    kind = next(f.type for f in fields(cls) if f.name == name)
    return int(value) if kind in ("int", int) else float(value)


def _section(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        names = ", ".join(f.name for f in fields(cls))
        raise ConfigError(f"{where}: expected a table with {names}")
    values = {}
    for f in fields(cls):
        if f.name not in data:
            raise ConfigError(f"{where}.{f.name}: missing")
        values[f.name] = _number(cls, f.name, data[f.name], where)
    return cls(**values)


def _routes(data: Any, defaults: Slo) -> dict[str, Slo]:
    """Each ``[routes."<name>"]`` table over the defaults; unknown names and keys refused."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError('routes: expected tables [routes."<route name>"]')
    known = {f.name for f in fields(Slo)}
    out = {}
    for name, table in data.items():
        where = f'routes."{name}"'
        if name not in ROUTES:
            raise ConfigError(f"{where}: no such route; the routes are {', '.join(ROUTES)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table of {', '.join(sorted(known))}")
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}: unknown key; allowed {', '.join(known)}")
        values = {k: _number(Slo, k, v, where) for k, v in table.items()}
        out[name] = replace(defaults, **values)
    return out


def load(path: Path = DEFAULT_CONFIG) -> LoadConfig:
    """Read and check ``path``; raises :class:`ConfigError` naming the bad key."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise ConfigError(f"{path}: [[stages]]: at least one stage is needed")
    slo = _section(Slo, data.get("slo"), "slo")
    return LoadConfig(
        slo,
        _section(Bounds, data.get("bounds"), "bounds"),
        _section(Traffic, data.get("traffic"), "traffic"),
        tuple(_section(Stage, s, f"stages[{i}]") for i, s in enumerate(stages)),
        _routes(data.get("routes"), slo),
    )

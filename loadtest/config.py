"""The load-test config file (``loadtest/loadtest.toml``): SLOs, bounds, traffic, stages.

Standard library only: Locust's processes, the runner and the tests all
read it the same way, and a malformed file fails with the key that is wrong.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

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
    slo: Slo
    bounds: Bounds
    traffic: Traffic
    stages: tuple[Stage, ...]

    @property
    def total_s(self) -> float:
        return sum(stage.duration_s for stage in self.stages)


def _section(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        names = ", ".join(f.name for f in fields(cls))
        raise ConfigError(f"{where}: expected a table with {names}")
    values = {}
    for f in fields(cls):
        if f.name not in data:
            raise ConfigError(f"{where}.{f.name}: missing")
        value = data[f.name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}.{f.name}: expected a number, got {value!r}")
        values[f.name] = int(value) if f.type in ("int", int) else float(value)
    return cls(**values)


def load(path: Path = DEFAULT_CONFIG) -> LoadConfig:
    """Read and check ``path``; raises :class:`ConfigError` naming the bad key."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise ConfigError(f"{path}: [[stages]]: at least one stage is needed")
    return LoadConfig(
        _section(Slo, data.get("slo"), "slo"),
        _section(Bounds, data.get("bounds"), "bounds"),
        _section(Traffic, data.get("traffic"), "traffic"),
        tuple(_section(Stage, s, f"stages[{i}]") for i, s in enumerate(stages)),
    )

"""The Locust SLO gate judges each route on its own SLOs, thresholds printed beside values."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest import config as load_config
from loadtest import routes
from loadtest.slo import Measured, verdict

pytestmark = pytest.mark.unit

SLO = load_config.Slo(p95_ms=100, p99_ms=200, max_error_rate=0.01, min_rps=50)
FAST = Measured(1000, 5, p95_ms=80, p99_ms=150, rps=60)


def _with_routes(tmp_path: Path, tables: str) -> Path:
    path = tmp_path / "routes.toml"
    path.write_text(load_config.DEFAULT_CONFIG.read_text() + "\n" + tables)
    return path


def test_shipped_config_judges_every_route_with_defaults_or_its_own_table() -> None:
    cfg = load_config.load()
    assert set(cfg.routes) <= set(routes.ROUTES)
    for route in routes.ROUTES:
        slo = cfg.slo_for(route)
        assert slo.p95_ms == cfg.slo.p95_ms, "every route keeps the service's latency SLO"
        assert 0 < slo.min_rps <= cfg.slo.min_rps
    assert cfg.slo_for(routes.TRANSFORMER_V2_INVALID).min_rps < cfg.slo.min_rps


def test_a_route_table_overrides_only_what_it_sets(tmp_path: Path) -> None:
    path = _with_routes(tmp_path, '[routes."transformer v1"]\np95_ms = 90\n')
    cfg = load_config.load(path)
    own = cfg.slo_for(routes.TRANSFORMER_V1)
    assert own.p95_ms == 90 and own.p99_ms == cfg.slo.p99_ms and own.min_rps == cfg.slo.min_rps
    assert cfg.slo_for(routes.PREDICTOR_GRPC) == cfg.slo


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ('[routes."transformer v3"]\np95_ms = 90\n', r'routes\."transformer v3": no such route'),
        ('[routes."transformer v1"]\np95 = 90\n', r'routes\."transformer v1"\.p95: unknown key'),
        ('[routes."transformer v1"]\np95_ms = "x"\n', r"p95_ms: expected a number"),
    ],
)
def test_bad_route_tables_are_refused_naming_the_key(
    tmp_path: Path, tables: str, message: str
) -> None:
    with pytest.raises(load_config.ConfigError, match=message):
        load_config.load(_with_routes(tmp_path, tables))


def test_run_time_is_the_stages_cut_at_the_bound(tmp_path: Path) -> None:
    text = load_config.DEFAULT_CONFIG.read_text().replace(
        "max_run_time_s = 120", "max_run_time_s = 7"
    )
    path = tmp_path / "short.toml"
    path.write_text(text)
    cfg = load_config.load(path)
    assert cfg.total_s > 7 and cfg.run_time_s == 7


def test_gate_passes_when_every_route_holds() -> None:
    result = verdict({"a": FAST, "b": FAST}, lambda _: SLO, FAST)
    assert result.passed and result.breaches == []
    line = result.routes["a"].line
    assert line == (
        "pass a (1000 requests): p95 80.0 ms <= 100 ms, p99 150.0 ms <= 200 ms,"
        " errors 0.50% <= 1.00%, throughput 60.0 req/s >= 50 req/s"
    )


@pytest.mark.parametrize(
    ("slow", "expected"),
    [
        (Measured(1000, 0, 101, 150, 60), "p95 101.0 ms > 100 ms BREACHED"),
        (Measured(1000, 0, 80, 250, 60), "p99 250.0 ms > 200 ms BREACHED"),
        (Measured(1000, 20, 80, 150, 60), "errors 2.00% > 1.00% BREACHED"),
        (Measured(1000, 0, 80, 150, 49.5), "throughput 49.5 req/s < 50 req/s BREACHED"),
    ],
)
def test_one_route_breaching_fails_the_gate_and_is_named(slow: Measured, expected: str) -> None:
    aggregate = FAST  # the other routes' volume keeps the aggregate within every SLO
    result = verdict({"fast": FAST, "slow": slow}, lambda _: SLO, aggregate)
    assert not result.passed
    assert result.breaches == [f"slow: {expected}"]
    assert result.routes["fast"].passed and not result.routes["slow"].passed
    assert result.routes["slow"].line.startswith("FAIL slow (1000 requests): ")
    assert expected in result.routes["slow"].line


def test_each_route_is_held_to_its_own_slo() -> None:
    loose = load_config.Slo(p95_ms=500, p99_ms=900, max_error_rate=0.01, min_rps=1)
    batch = Measured(100, 0, p95_ms=300, p99_ms=400, rps=5)
    result = verdict({"batch": batch, "row": batch}, {"batch": loose, "row": SLO}.__getitem__, FAST)
    assert result.routes["batch"].passed
    assert result.breaches[0].startswith("row: p95 300.0 ms > 100 ms")


def test_no_route_at_all_is_a_breach_and_the_aggregate_is_reported_not_judged() -> None:
    result = verdict({}, lambda _: SLO, Measured(0, 0, 0, 0, 0))
    assert result.breaches == ["no requests completed"]
    assert result.to_json()["passed"] is False and result.aggregate.requests == 0
    assert "not judged" in result.aggregate_line()

"""Load-test logic without processes: config, SLO gate, response checks, payloads, targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loadtest import config as load_config
from loadtest import payloads, report, targets
from loadtest.checks import Expect, check_rows
from loadtest.loadgen import LoadResult
from loadtest.slo import Totals, breaches
from transformer.contract import N_FEATURES
from transformer.validation import ValidationError, columns_to_matrix, records_to_matrix

pytestmark = pytest.mark.unit

SLO = load_config.Slo(p95_ms=100, p99_ms=200, max_error_rate=0.01, min_rps=50)


def test_shipped_config_is_valid_and_bounded() -> None:
    cfg = load_config.load()
    assert cfg.stages and cfg.total_s <= cfg.bounds.max_run_time_s
    assert cfg.bounds.max_requests > 0


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    text = load_config.DEFAULT_CONFIG.read_text().replace("p99_ms = 600.0", 'p99_ms = "fast"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(load_config.ConfigError, match=r"slo\.p99_ms: expected a number"):
        load_config.load(bad)
    bad.write_text(text.replace('p99_ms = "fast"\n', ""))
    with pytest.raises(load_config.ConfigError, match=r"slo\.p99_ms: missing"):
        load_config.load(bad)


def test_gate_passes_within_every_slo() -> None:
    assert breaches(Totals(1000, 5, p95_ms=80, p99_ms=150, rps=60), SLO) == []


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        (Totals(1000, 0, 101, 150, 60), "p95 latency 101.0 ms > 100 ms"),
        (Totals(1000, 0, 80, 250, 60), "p99 latency 250.0 ms > 200 ms"),
        (Totals(1000, 20, 80, 150, 60), "error rate 2.00% > 1.00%"),
        (Totals(1000, 0, 80, 150, 49.5), "throughput 49.5 req/s < 50 req/s"),
        (Totals(0, 0, 0, 0, 0), "no requests completed"),
    ],
)
def test_gate_names_each_breach(totals: Totals, expected: str) -> None:
    assert expected in breaches(totals, SLO)


def test_checks_accept_good_answers_and_name_bad_ones() -> None:
    good = '{"outputs": [{"name": "risk", "data": [0.1, 0.9]}]}'
    assert check_rows(200, good, Expect(2, "risk")) is None
    assert "expected 3 risks" in str(check_rows(200, good, Expect(3, "risk")))
    bad = '{"outputs": [{"name": "risk", "data": [0.1, 1.7]}]}'
    assert "row 1: risk 1.7" in str(check_rows(200, bad, Expect(2, "risk")))
    assert "status 500" in str(check_rows(500, "boom", Expect(1, "risk")))
    assert check_rows(200, '{"predictions": [{"risk": 0.2}]}', Expect(1, "v1")) is None
    named = "row 0, field 'age': is out of range"
    assert check_rows(400, named, Expect(0, "risk", 400, "age")) is None
    assert "does not name" in str(check_rows(400, "bad request", Expect(0, "risk", 400, "age")))


def test_valid_payloads_pass_the_contract() -> None:
    v1 = payloads.records_v1_missing(20, seed=3)
    assert records_to_matrix(v1["instances"]).shape == (20, N_FEATURES)
    v2 = payloads.records_v2(payloads.generate(7, seed=1))
    columns = {t["name"]: t["data"] for t in v2["inputs"]}
    assert columns_to_matrix(columns).shape == (7, N_FEATURES)
    tensor = payloads.tensor_v2(payloads.generate(5, seed=2))["inputs"][0]
    assert tensor["shape"] == [5, N_FEATURES] and len(tensor["data"]) == 5 * N_FEATURES


@pytest.mark.parametrize("seed", range(8))
def test_invalid_payloads_break_exactly_the_named_field(seed: int) -> None:
    body, field = payloads.invalid_v1(seed, rows=3)
    with pytest.raises(ValidationError) as v1_error:
        records_to_matrix(body["instances"])
    assert {p.field for p in v1_error.value.problems} == {field}
    v2, v2_field = payloads.invalid_v2(seed)
    with pytest.raises(ValidationError) as v2_error:
        columns_to_matrix({t["name"]: t["data"] for t in v2["inputs"]})
    assert {p.field for p in v2_error.value.problems} == {v2_field}


def _sample(server: str, model: str, rps: float, p50: float, rnd: int = 0) -> report.Sample:
    result = LoadResult(100, 0, 1.0, rps, p50, p50, p50 * 2, p50 * 3, p50, {"200": 100}, 0.1)
    return report.Sample(server, model, 1, 8, rnd, result, 300.0)


def test_records_take_medians_over_rounds_and_ratios_against_each_peer() -> None:
    samples = [
        _sample("ours", "RF", 900, 8, 0), _sample("ours", "RF", 1100, 6, 1),
        _sample("kserve-sklearn", "RF", 100, 80), _sample("mlserver", "RF", 250, 32),
        _sample("chain-grpc", "RF", 350, 20),
    ]  # fmt: skip
    recs = {r["server"]: r for r in report.records(samples)}
    assert recs["ours"]["rps"] == 1000 and recs["ours"]["rounds"] == 2
    assert recs["ours"]["ratios"]["rps_vs_kserve-sklearn"] == pytest.approx(10.0)
    assert recs["ours"]["ratios"]["p50_vs_mlserver"] == pytest.approx(7 / 32)
    assert recs["kserve-sklearn"]["ratios"] == {}
    met = {t["target"]: t["met"] for t in targets.evaluate(list(recs.values()))}
    assert met["RF 1-row c8: our predictor req/s >= 5x both peers"] is False  # 4x MLServer
    assert met["RF 1-row c8: our predictor p50 <= 0.25x both peers"] is True
    assert met["RF 1-row c8: transformer->predictor (gRPC) req/s >= 3x stock KServe"] is True


def test_missing_measurements_never_count_as_met() -> None:
    recs = report.records([_sample("ours", "RF", 900, 8)])
    assert not any(t["met"] for t in targets.evaluate(recs))
    assert np.isfinite(recs[0]["rps"])

"""Load-test logic without servers: config, SLO gate, response checks, payloads, targets, models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loadtest import bench, models, payloads, report, targets
from loadtest import config as load_config
from loadtest.checks import Expect, check_rows
from loadtest.loadgen import LoadResult
from loadtest.slo import Totals, breaches
from serving.problems import ValidationError
from transformer.contract import N_FEATURES
from transformer.synthetic import generate
from transformer.validation import columns_to_matrix, records_to_matrix

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
    v2 = payloads.records_v2(generate(7, seed=1))
    columns = {t["name"]: t["data"] for t in v2["inputs"]}
    assert columns_to_matrix(columns).shape == (7, N_FEATURES)
    tensor = payloads.tensor_v2(generate(5, seed=2))["inputs"][0]
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


def _sample(
    server: str, model: str, rps: float, p50: float, rnd: int = 0, *, errors: int = 0
) -> report.Sample:
    last = "no output 'probability'" if errors else ""
    result = LoadResult(
        100,
        errors,
        1.0,
        rps,
        p50,
        p50,
        p50 * 2,
        p50 * 3,
        p50,
        {"200": 100},
        0.1,
        last,
        body_errors=errors,
    )
    return report.Sample(server, model, 1, 8, rnd, result, 300.0)


def _rf_point(**errors: int) -> list[report.Sample]:
    """All systems of the RF 1-row c8 point, every target comfortably met; ``errors`` by server."""
    rates = {
        "ours": (1000, 5),
        "chain-grpc": (400, 15),
        "kserve-sklearn": (100, 80),
        "mlserver": (120, 60),
    }
    return [
        _sample(name, "RF", rps, p50, errors=errors.get(name.replace("-", "_"), 0))
        for name, (rps, p50) in rates.items()
    ]


def _status(samples: list[report.Sample]) -> dict[str, tuple[str, str]]:
    return {
        t["target"]: (t["status"], t["reason"]) for t in targets.evaluate(report.records(samples))
    }


RF_RPS = "RF 1-row c8: our predictor req/s >= 5x both peers"
RF_P50 = "RF 1-row c8: our predictor p50 <= 0.25x both peers"
RF_CHAIN = "RF 1-row c8: transformer->predictor (gRPC) req/s >= 3x stock KServe"


def test_records_take_medians_over_rounds_and_ratios_against_each_peer() -> None:
    samples = [
        _sample("ours", "RF", 900, 8, 0),
        _sample("ours", "RF", 1100, 6, 1),
        _sample("kserve-sklearn", "RF", 100, 80),
        _sample("mlserver", "RF", 250, 32),
        _sample("chain-grpc", "RF", 350, 20),
    ]
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


def test_clean_point_meets_its_targets() -> None:
    status = _status(_rf_point())
    assert status[RF_RPS] == status[RF_P50] == status[RF_CHAIN] == ("met", "")


def test_one_peer_measured_is_not_measured_never_met() -> None:
    samples = [s for s in _rf_point() if s.server != "mlserver"]
    status, reason = _status(samples)[RF_RPS]
    assert status == "not measured" and "mlserver" in reason
    assert _status(samples)[RF_CHAIN] == ("met", ""), "the chain target compares KServe only"


@pytest.mark.parametrize("failing", ["ours", "kserve_sklearn", "mlserver"])
def test_request_errors_in_any_compared_system_fail_the_target(failing: str) -> None:
    status, reason = _status(_rf_point(**{failing: 3}))[RF_RPS]
    assert status == "failed"
    assert f"{failing.replace('_', '-')} 3 of 100 requests failed" in reason
    assert "no output 'probability'" in reason, "the reason carries the last error"


def test_errors_in_an_uncompared_system_do_not_touch_a_target() -> None:
    status = _status(_rf_point(chain_grpc=5))
    assert status[RF_RPS][0] == "met" and status[RF_CHAIN][0] == "failed"


def test_records_count_requests_and_body_errors_over_rounds() -> None:
    samples = [_sample("ours", "RF", 900, 8, 0, errors=2), _sample("ours", "RF", 900, 8, 1)]
    (rec,) = report.records(samples)
    assert (rec["requests"], rec["errors"], rec["body_errors"]) == (200, 2, 2)
    assert rec["last_error"] == "no output 'probability'"


def test_lr_targets_need_both_peers_at_each_point() -> None:
    samples = [_sample("ours", "LR", 900, 8), _sample("kserve-sklearn", "LR", 300, 20)]
    (lr,) = [t for t in targets.evaluate(report.records(samples)) if t["target"].startswith("LR")]
    assert lr["status"] == "not measured" and not lr["met"] and "mlserver" in lr["reason"]


def test_benchmark_forest_defaults_to_the_issues_100_trees() -> None:
    assert bench.BenchSettings.parse([]).rf_trees == 100
    assert bench.BenchSettings.parse(["--rf-trees", "300"]).rf_trees == 300
    with pytest.raises(SystemExit):
        bench.BenchSettings.parse(["--rf-trees", "0"])


def test_trained_model_is_used_only_with_the_asked_tree_count(
    synthetic_model_dir: Path, data_source: str, tmp_path: Path
) -> None:
    assert models.forest_trees(synthetic_model_dir) == 25
    assert models.forest_dir(tmp_path, synthetic_model_dir, data_source, 25) == synthetic_model_dir
    fitted = models.forest_dir(tmp_path, synthetic_model_dir, data_source, 100)
    assert fitted == tmp_path / "rf" and models.forest_trees(fitted) == 100
    info = report.describe_model(fitted)
    assert "fitted on Cleveland by the benchmark" in info and "n_estimators=100" in info
    assert models.forest_trees(tmp_path / "absent") is None

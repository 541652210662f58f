"""A short, bounded, real Locust run against our real servers, through the SLO gate."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest import stacks
from tests.conftest import REPO

pytestmark = pytest.mark.integration

USERS = ("TransformerV2User", "TransformerV1User", "PredictorRestUser", "PredictorGrpcUser")
CONFIG = """
[slo]
p95_ms = {p95}
p99_ms = 5000
max_error_rate = 0.01
min_rps = 5
[bounds]
max_run_time_s = 20
max_requests = 400
[traffic]
invalid_share = 0.2
batch_share = 0.3
max_batch_rows = 8
[[stages]]
duration_s = 2
users = 2
spawn_rate = 2
[[stages]]
duration_s = 2
users = 4
spawn_rate = 4
"""


@pytest.fixture(scope="module")
def local_stack(
    synthetic_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[stacks.Stack, stacks.Stack]]:
    work = tmp_path_factory.mktemp("locust-stack")
    predictor = stacks.ours(synthetic_model_dir, work)
    chain = stacks.chain_on(predictor, work, "grpc")
    try:
        stacks.start_all([predictor, chain])
        yield predictor, chain
    finally:
        stacks.stop_all([chain, predictor])


def _run(tmp: Path, p95: float, predictor_url: str, chain: stacks.Stack, grpc_port: int) -> int:
    config = tmp / "slo.toml"
    config.write_text(CONFIG.format(p95=p95))
    argv = [
        sys.executable,
        "-m",
        "loadtest.run",
        "--host",
        chain.entry.base_url,
        "--predictor-host",
        predictor_url,
        "--grpc-host",
        f"127.0.0.1:{grpc_port}",
        "--config",
        str(config),
        "--out",
        str(tmp / "out"),
    ]
    return subprocess.run(argv, cwd=REPO, timeout=90, capture_output=True, check=False).returncode


def _stats(out: Path) -> dict[str, dict[str, str]]:
    with (out / "locust_stats.csv").open() as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def test_run_within_slo_exits_zero_with_reports(local_stack, tmp_path: Path) -> None:
    predictor, chain = local_stack
    code = _run(tmp_path, 5000, predictor.entry.base_url, chain, predictor.grpc_port)
    out = tmp_path / "out"
    verdict = json.loads((out / "locust_slo.json").read_text())
    assert code == 0, verdict
    assert verdict["passed"] and verdict["breaches"] == []
    assert (out / "locust.html").stat().st_size > 0
    stats = _stats(out)
    for name in (
        "transformer v2 1 row",
        "transformer v2 invalid row",
        "transformer v1",
        "predictor v2 REST",
        "predictor v2 gRPC",
    ):
        assert int(stats[name]["Request Count"]) > 0, name
        assert stats[name]["Failure Count"] == "0", name
    total = int(stats["Aggregated"]["Request Count"])
    assert 0 < total <= 400, "bounded by the request cap"


def test_breached_slos_exit_non_zero_and_are_named(local_stack, tmp_path: Path) -> None:
    predictor, chain = local_stack
    # The predictor REST users are pointed at the transformer, which rejects tensors: errors.
    code = _run(tmp_path, 0.001, chain.entry.base_url, chain, predictor.grpc_port)
    verdict = json.loads((tmp_path / "out" / "locust_slo.json").read_text())
    assert code == 1
    assert not verdict["passed"]
    assert any(b.startswith("p95 latency") for b in verdict["breaches"])
    assert any(b.startswith("error rate") for b in verdict["breaches"])
    failures = _stats(tmp_path / "out")["predictor v2 REST"]["Failure Count"]
    assert int(failures) > 0

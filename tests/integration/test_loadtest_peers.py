"""Benchmark peers answer with the Pipeline's predict_proba; every system passes its body check."""

from __future__ import annotations

import ipaddress
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import psutil
import pytest

from loadtest import loadgen, payloads, stacks
from transformer.synthetic import generate

pytestmark = pytest.mark.integration

MLSERVER_PYTHON = Path(__file__).resolve().parents[2] / ".venv-mlserver" / "bin" / "python"


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=20) as resp:
        return dict(json.loads(resp.read()))


def _listen_addresses(stack: stacks.Stack) -> set[str]:
    addresses = set()
    for proc in stack.entry._tree():
        for conn in proc.connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN:
                addresses.add(conn.laddr.ip)
    return addresses


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)


def _served_proba(stack: stacks.Stack, matrix: np.ndarray) -> np.ndarray:
    stacks.start_all([stack])
    try:
        answer = _post(stack.infer_url, payloads.tensor_v2(matrix))
        addresses = _listen_addresses(stack)
        assert addresses and all(_loopback(a) for a in addresses), addresses
    finally:
        stacks.stop_all([stack])
    output = answer["outputs"][0]
    return np.asarray(output["data"], dtype=np.float64).reshape(output["shape"])


def test_stock_kserve_sklearn_server_serves_predict_proba(
    synthetic_model_dir: Path, tmp_path: Path
) -> None:
    matrix = generate(6, seed=11)
    served = _served_proba(stacks.kserve_sklearn(synthetic_model_dir, tmp_path), matrix)
    expected = joblib.load(synthetic_model_dir / "model.joblib").predict_proba(matrix)
    np.testing.assert_allclose(served, expected, atol=1e-6)


def test_mlserver_serves_predict_proba(synthetic_model_dir: Path, tmp_path: Path) -> None:
    if not MLSERVER_PYTHON.is_file():
        pytest.skip("MLServer's virtualenv is absent: run `make mlserver-venv`")
    matrix = generate(6, seed=12)
    served = _served_proba(stacks.mlserver(synthetic_model_dir, tmp_path, MLSERVER_PYTHON), matrix)
    expected = joblib.load(synthetic_model_dir / "model.joblib").predict_proba(matrix)
    np.testing.assert_allclose(served, expected, atol=1e-6)


@pytest.fixture(scope="module")
def bench_systems(
    synthetic_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[stacks.Stack]]:
    """Every system the benchmark drives, on the synthetic forest (MLServer if installed)."""
    work = tmp_path_factory.mktemp("bench-systems")
    ours = stacks.ours(synthetic_model_dir, work)
    systems = [
        ours,
        stacks.chain_on(ours, work, "grpc"),
        stacks.chain_on(ours, work, "rest"),
        stacks.kserve_sklearn(synthetic_model_dir, work),
    ]
    if MLSERVER_PYTHON.is_file():
        systems.append(stacks.mlserver(synthetic_model_dir, work, MLSERVER_PYTHON))
    stacks.start_all(systems)
    yield systems
    stacks.stop_all(systems)


def _drive(system: stacks.Stack, bodies: Path, expect: loadgen.Expect) -> loadgen.LoadResult:
    return loadgen.run(system.infer_url, bodies, 2, 30, warmup_s=0, max_requests=30, expect=expect)


@pytest.mark.parametrize("rows", [1, 64])
def test_every_benchmark_system_passes_its_body_check(
    bench_systems: list[stacks.Stack], rows: int, tmp_path: Path
) -> None:
    for system in bench_systems:
        bodies = payloads.write_bodies(tmp_path / f"{system.name}.jsonl", system.body, rows, 4)
        result = _drive(system, bodies, system.expect(rows))
        assert (result.requests, result.errors) == (30, 0), (system.name, result.last_error)


def test_wrong_answers_from_a_real_server_count_as_errors(
    bench_systems: list[stacks.Stack], tmp_path: Path
) -> None:
    kserve = next(s for s in bench_systems if s.name == "kserve-sklearn")
    bodies = payloads.write_bodies(tmp_path / "one.jsonl", "tensor", 1, 4)
    other_name = _drive(kserve, bodies, loadgen.Expect("probability", 1))
    assert other_name.errors == other_name.body_errors == 30, "answers without our output"
    wrong_count = _drive(kserve, bodies, loadgen.Expect("output-0", 1))
    assert wrong_count.errors == 30 and "has 2 values, expected 1" in wrong_count.last_error
    short = tmp_path / "short.jsonl"
    short.write_text(bodies.read_text().replace('"shape":[1,13]', '"shape":[1,12]'))
    refused = _drive(kserve, short, kserve.expect(1))
    assert refused.errors == 30 and refused.body_errors == 0, "a 4xx/5xx is an error too"
    assert "200" not in refused.statuses

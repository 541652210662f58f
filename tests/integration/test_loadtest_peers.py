"""The benchmark's peers load our model.joblib and answer with the Pipeline's predict_proba."""

from __future__ import annotations

import ipaddress
import json
import urllib.request
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import psutil
import pytest

from loadtest import payloads, stacks

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
    matrix = payloads.generate(6, seed=11)
    served = _served_proba(stacks.kserve_sklearn(synthetic_model_dir, tmp_path), matrix)
    expected = joblib.load(synthetic_model_dir / "model.joblib").predict_proba(matrix)
    np.testing.assert_allclose(served, expected, atol=1e-6)


def test_mlserver_serves_predict_proba(synthetic_model_dir: Path, tmp_path: Path) -> None:
    if not MLSERVER_PYTHON.is_file():
        pytest.skip("MLServer's virtualenv is absent: run `make mlserver-venv`")
    matrix = payloads.generate(6, seed=12)
    served = _served_proba(stacks.mlserver(synthetic_model_dir, tmp_path, MLSERVER_PYTHON), matrix)
    expected = joblib.load(synthetic_model_dir / "model.joblib").predict_proba(matrix)
    np.testing.assert_allclose(served, expected, atol=1e-6)

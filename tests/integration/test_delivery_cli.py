"""The canary CLI with the real kubernetes client against a cluster address
where nothing listens: the documented exit code 6 and a one-line message,
not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration


def _kubeconfig(tmp_path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "gone", "cluster": {"server": server}}],
        "users": [{"name": "me", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "me"}}],
        "current-context": "gone",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("command", [["status"], ["promote"], ["rollback"]])
def test_unreachable_cluster_exits_6_with_one_line(tmp_path: Path, command: list[str]) -> None:
    kubeconfig = _kubeconfig(tmp_path, f"http://127.0.0.1:{free_port()}")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    result = subprocess.run(
        [sys.executable, "-m", "delivery.canary", "--timeout", "5", *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 6, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("cluster: cannot reach the cluster")
    assert "Connection refused" in line or "NewConnectionError" in line

"""What docs/serving.md tells users to run, run against the session's servers.

``make predict`` (the example client, v2 REST + gRPC) and the page's
``InferenceRESTClient`` / ``InferenceGRPCClient`` snippet, with the page's
ports swapped for the test servers' free ones.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.integration.serving_fixtures import Server

pytestmark = pytest.mark.integration


def python_snippet() -> str:
    page = (REPO / "docs" / "serving.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    [snippet] = [b for b in blocks if "InferenceGRPCClient" in b]
    return snippet


def test_make_predict_against_running_servers(transformer_rest: Server) -> None:
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed-transformer",
            "predict",
            f"TRANSFORMER_HTTP_PORT={transformer_rest.http_port}",
            f"TRANSFORMER_GRPC_PORT={transformer_rest.grpc_port}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "v2 REST response (200)" in done.stdout
    assert done.stdout.count("patient 1: risk of heart disease") == 2  # REST and gRPC
    assert "model version 1" in done.stdout


def test_documented_client_snippet_runs(transformer_rest: Server) -> None:
    code = python_snippet()
    assert '"http://127.0.0.1:8080"' in code and '"127.0.0.1:8081"' in code
    code = code.replace("127.0.0.1:8080", f"127.0.0.1:{transformer_rest.http_port}")
    code = code.replace("127.0.0.1:8081", transformer_rest.grpc)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rest_line, grpc_line = done.stdout.strip().splitlines()
    assert re.fullmatch(r"\{'risk': \[0\.\d+\], 'label': \['(no )?disease'\]\}", rest_line)
    assert "'risk': [0." in grpc_line and grpc_line.endswith(" 1")

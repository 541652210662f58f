"""The predictor runs from predictor/ and serving/ alone and serves model.onnx unpickled.

What the predictor image holds is exactly these two folders (and the
``predictor`` extra's packages). The server is started from a copy of them
with the checkout's editable install hidden, under an audit hook
(PEP 578) that kills the process the moment anything unpickles
(``pickle.find_class``), opens ``model.joblib`` or imports a component
package the predictor must not know. A second run with ``--engine sklearn``
shows the hook does fire.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest

from tests.conftest import REPO
from tests.integration.serving_fixtures import Server, wait_for
from transformer.synthetic import generate

pytestmark = pytest.mark.integration

TRIPPED = 86
LAUNCHER = textwrap.dedent(
    """
    import os, runpy, sys

    tree, repo = sys.argv[1], sys.argv[2]
    sys.meta_path = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")]
    sys.path = [tree] + [p for p in sys.path if p not in ("", repo, tree)]
    FORBIDDEN = {"transformer", "training", "batch", "loadtest", "delivery"}

    def trip(why):
        sys.stderr.write(f"ISOLATION TRIPPED: {why}\\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)

    def hook(event, args):
        if event == "pickle.find_class":
            trip(f"unpickling {args[0]}.{args[1]}")
        elif event == "open" and str(args[0]).endswith("model.joblib"):
            trip(f"opening {args[0]}")
        elif event == "import" and args[0].split(".")[0] in FORBIDDEN:
            trip(f"importing {args[0]}")

    sys.addaudithook(hook)
    sys.argv = ["predictor", *sys.argv[3:]]
    runpy.run_module("predictor", run_name="__main__", alter_sys=True)
    """
).replace("EXIT_CODE", str(TRIPPED))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """predictor/ and serving/, nothing else, as the image copies them."""
    root = tmp_path_factory.mktemp("image-tree")
    for package in ("predictor", "serving"):
        shutil.copytree(REPO / package, root / package)
    (root / "launch.py").write_text(LAUNCHER)
    return root


def isolated(tree: Path, model_dir: Path, log_dir: Path, *extra: str) -> Server:
    args = ["--model_dir", str(model_dir), "--model_name", "heart", *extra]
    launcher = [str(tree / "launch.py"), str(tree), str(REPO)]
    log = log_dir / f"isolated-{'-'.join(extra) or 'onnx'}.log"
    return Server("predictor", args, log, launcher=launcher, cwd=tree)


@pytest.fixture
def started() -> Iterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for server in servers:
        server.stop()


def test_serves_model_onnx_from_its_own_tree_without_unpickling(
    tree: Path, synthetic_model_dir: Path, tmp_path: Path, started: list[Server]
) -> None:
    server = isolated(tree, synthetic_model_dir, tmp_path)
    started.append(server.start())
    server.wait_ready()
    x = generate(8, seed=5, missing_rate=0.1)
    data = [None if np.isnan(v) else float(v) for v in x.reshape(-1)]
    body = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [8, 13], "data": data}]}
    response = server.post("/v2/models/heart/infer", json=body)
    assert response.status_code == 200, response.text
    served = np.asarray(response.json()["outputs"][0]["data"], dtype=np.float32)
    expected = joblib.load(synthetic_model_dir / "model.joblib").predict_proba(x)[:, 1]
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert server.get("/v2/models/heart").json()["parameters"]["engine"] == "onnx"
    assert server.process is not None and server.process.poll() is None
    assert "ISOLATION TRIPPED" not in server.log.read_text()


def test_the_guard_fires_when_the_predictor_unpickles(
    tree: Path, synthetic_model_dir: Path, tmp_path: Path, started: list[Server]
) -> None:
    """The control: --engine sklearn must open model.joblib, and the hook stops it."""
    server = isolated(tree, synthetic_model_dir, tmp_path, "--engine", "sklearn")
    started.append(server.start())
    assert server.process is not None
    process = server.process
    assert wait_for(lambda: process.poll() is not None, 60)
    assert process.returncode == TRIPPED
    assert "ISOLATION TRIPPED: opening" in server.log.read_text()

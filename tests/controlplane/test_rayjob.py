"""manifests/ray's RayJob through KubeRay's own operator: the submitter Job's
command, run with bash and the Job's environment, hands ``ray job submit``
the tune arguments with their values (item 1).

KubeRay's operator (ray-operator, controllers/ray/rayjob_controller.go) makes
the RayCluster, whose pods kube-controller-manager does not own: the operator
creates them, tests/controlplane/kubelet.py reports them running, the
RayCluster turns Ready and the operator creates the submitter Job with the
command of controllers/ray/common/job.go ``BuildJobSubmitCommand``. That
command runs here with bash, its environment resolved as the kubelet would
(``env`` and ``envFrom`` ConfigMaps), and a ``ray`` executable that records its
arguments: the recording stands in for Ray's CLI, whose argument parsing is
not under test; the tune arguments are then parsed by our own CLI.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.controlplane.cluster import REPO, ControlPlane
from tests.controlplane.kubelet import KubeletPlayer
from tests.controlplane.manifests import get, render, wait_until
from training.cli import build_parser

RECORDING_RAY = """#!{python}
import json, os, sys
args = sys.argv[1:]
if args[:2] == ["job", "status"]:
    sys.exit(1)  # not submitted yet: the command goes on to `ray job submit`
if args[:2] == ["job", "submit"]:
    with open(os.environ["RAY_ARGV_FILE"], "w") as out:
        json.dump(args, out)
"""


@pytest.fixture
def kuberay(plane: ControlPlane, kubelet: KubeletPlayer) -> ControlPlane:
    if not any(p.name == "kuberay-operator" for p in plane.procs):
        plane.start_kuberay()
    return plane


def _environment(plane: ControlPlane, container: dict[str, Any], namespace: str) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps,
    then env values (valueFrom Secrets are not needed by the submit command)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            config = get(plane, "configmap", ref["name"], namespace) or {}
            env.update(config.get("data") or {})
    env.update({e["name"]: e["value"] for e in container.get("env") or [] if "value" in e})
    return env


def test_the_submitter_hands_ray_the_tune_arguments(
    kuberay: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    plane = kuberay
    plane.apply(render(plane, REPO / "manifests" / "ray", namespace))
    job = wait_until(
        "KubeRay's submitter Job", lambda: get(plane, "job", "heart-tune", namespace), timeout=120
    )
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["/bin/bash", "-ce"]

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ray").write_text(RECORDING_RAY.format(python=sys.executable))
    (bin_dir / "ray").chmod(0o755)
    argv_file = tmp_path / "argv.json"
    env = _environment(plane, container, namespace)
    env |= {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RAY_ARGV_FILE": str(argv_file)}
    done = subprocess.run(
        [*container["command"], *container["args"]],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    submitted = json.loads(argv_file.read_text())
    entrypoint = submitted[submitted.index("--") + 1 :]
    assert entrypoint[:4] == ["python", "-m", "training", "tune"], shlex.join(entrypoint)

    config = (get(plane, "configmap", "heart-tune", namespace) or {})["data"]
    args = build_parser().parse_args(entrypoint[3:])
    assert args.storage == config["TUNE_STORAGE"]
    assert args.num_samples == int(config["TUNE_SAMPLES"])
    assert args.time_budget_s == float(config["TUNE_TIME_BUDGET_S"])


def test_the_submitter_waits_for_the_tracking_server_it_names(
    kuberay: ControlPlane, namespace: str
) -> None:
    """Item 6: the job's MLflow server and bucket are deployed with it, and the
    submitter's init container waits for that server before submitting."""
    plane = kuberay
    plane.apply(render(plane, REPO / "manifests" / "ray", namespace))
    job = wait_until(
        "KubeRay's submitter Job", lambda: get(plane, "job", "heart-tune", namespace), timeout=120
    )
    [init] = job["spec"]["template"]["spec"]["initContainers"]
    config = (get(plane, "configmap", "heart-tune", namespace) or {})["data"]
    assert "MLFLOW_TRACKING_URI" in init["args"][0]
    host = config["MLFLOW_TRACKING_URI"].split("//", 1)[1].split(".", 1)[0]
    assert get(plane, "service", host, namespace) is not None
    mlflow = wait_until("MLflow Deployment Available",
                        lambda: (d := get(plane, "deployment", host, namespace))
                        and d.get("status", {}).get("availableReplicas") and d)  # fmt: skip
    [create] = mlflow["spec"]["template"]["spec"]["initContainers"]
    assert "TUNE_STORAGE" in create["args"][0] and "create_bucket" in create["args"][0]

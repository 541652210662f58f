"""manifests/ray: the KubeRay RayJob's pods validate strictly and are locked down.

No schema package exists for KubeRay's CRDs (delivery.schemas allowlists
ray.io kinds), so each pod template inside the RayJob (head, workers, job
submitter) is validated strictly as a core ``v1/PodTemplate`` and scanned by
checkov as a Pod (skips only with the reasons annotated on the template);
the entrypoint, expanded by bash with the submitter container's own
environment (KubeRay runs it with ``bash -ce`` there), must parse with our own
CLI. tests/controlplane/test_rayjob.py runs the Job KubeRay's operator makes.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml

from delivery import render, schemas
from tests.argv import flags
from tests.integration.test_delivery_manifests import CHECKOV
from training.cli import build_parser

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    rendered = render.documents(render.render(REPO / "manifests" / "ray"))
    return {o["kind"]: o for o in rendered}


def _templates(objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    cluster = objects["RayJob"]["spec"]["rayClusterSpec"]
    found = {"head": cluster["headGroupSpec"]["template"]}
    found |= {f"worker-{g['groupName']}": g["template"] for g in cluster["workerGroupSpecs"]}
    mlflow = objects["Deployment"]  # checkov reads a Deployment's skips on the Deployment
    template = mlflow["spec"]["template"]
    metadata = {**template["metadata"], "annotations": mlflow["metadata"]["annotations"]}
    found |= {"mlflow": {**template, "metadata": metadata}}
    return found | {"submitter": objects["RayJob"]["spec"]["submitterPodTemplate"]}


def test_every_object_validates(objects: dict[str, dict[str, Any]]) -> None:
    assert set(objects) == {"RayJob", "ServiceAccount", "ConfigMap", "Deployment", "Service"}
    assert [e for o in objects.values() for e in schemas.validate(o)] == []


def test_pod_templates_are_strictly_valid(objects: dict[str, dict[str, Any]]) -> None:
    for name, template in _templates(objects).items():
        wrapped = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": name},
            "template": template,
        }
        assert schemas.validate(wrapped) == [], name


def test_containers_are_locked_down(objects: dict[str, dict[str, Any]]) -> None:
    for name, template in _templates(objects).items():
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True, name
        for container in template["spec"]["containers"] + template["spec"].get(
            "initContainers", []
        ):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True and ctx["capabilities"]["drop"] == ["ALL"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert {"limits", "requests"} <= set(container["resources"]), name


def test_ray_version_and_entrypoint_match_the_code(objects: dict[str, dict[str, Any]]) -> None:
    job, config = objects["RayJob"], objects["ConfigMap"]["data"]
    assert job["spec"]["rayClusterSpec"]["rayVersion"] == ray.__version__
    [submitter] = job["spec"]["submitterPodTemplate"]["spec"]["containers"]
    env = {"PATH": "/usr/bin:/bin"}
    for source in submitter.get("envFrom") or []:
        if source.get("configMapRef", {}).get("name") == objects["ConfigMap"]["metadata"]["name"]:
            env |= config
    expanded = subprocess.run(
        ["bash", "-c", f"printf '%s\\n' {job['spec']['entrypoint']}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    words = expanded.stdout.splitlines()
    assert words[:4] == ["python", "-m", "training", "tune"], shlex.join(words)
    args = build_parser().parse_args(words[3:])
    assert args.storage == config["TUNE_STORAGE"] and args.no_ship_code
    assert args.num_samples == int(config["TUNE_SAMPLES"])


QUIET = ("--quiet", "--compact", "--skip-download")


def test_checkov_passes_the_ray_pods(objects: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.skip(f"checkov not built at {CHECKOV}: run `make validate` (or make test)")
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"heart-tune-{name}",
                "namespace": "heart",
                "annotations": t["metadata"]["annotations"],
            },
            "spec": t["spec"],
        }
        for name, t in _templates(objects).items()
    ]
    (tmp_path / "pods.yaml").write_text(yaml.safe_dump_all(pods))
    done = subprocess.run(
        [str(CHECKOV), "-d", str(tmp_path), "-o", "json", *flags(framework="kubernetes"), *QUIET],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []

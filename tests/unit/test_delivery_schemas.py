"""The strict KServe schema check catches what the SDK's deserializer lets
through, and the committed manifests agree with the pinned versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from delivery.schemas import check_model, validate

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def _isvc() -> dict:
    return yaml.safe_load((REPO / "manifests/base/inferenceservice.yaml").read_text())


def test_base_inferenceservice_is_valid() -> None:
    assert validate(_isvc()) == []


def test_unknown_field_fails_where_the_sdk_would_ignore_it() -> None:
    isvc = _isvc()
    isvc["spec"]["predictor"]["canaryTrafficPercnt"] = 10
    [error] = validate(isvc)
    assert "spec.predictor.canaryTrafficPercnt: unknown field" in error


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("spec", "predictor", "minReplicas"), "1", "expected int"),
        (("spec", "predictor", "model", "storageUri"), 3, "expected str"),
        (("spec", "transformer", "containers"), {"name": "x"}, "expected a list"),
        (("spec", "predictor", "minReplicas"), True, "got bool"),
    ],
)
def test_wrong_types_fail(path: tuple[str, ...], value: object, expected: str) -> None:
    isvc = _isvc()
    target = isvc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(expected in e for e in validate(isvc))


def test_missing_required_fields_fail() -> None:
    isvc = _isvc()
    del isvc["spec"]["transformer"]["containers"][0]["name"]
    assert any("missing required field name" in e for e in validate(isvc))
    del isvc["spec"]["predictor"]["model"]["modelFormat"]
    assert any("model_format" in e for e in validate(isvc))


def test_quantities_may_be_numbers() -> None:
    resources = {"limits": {"cpu": 1, "memory": "1Gi"}}
    assert check_model(resources, "V1ResourceRequirements") == []


def test_core_kinds_are_checked_strictly() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"a": 1}}
    assert validate(secret)
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}, "secretz": []}
    assert validate(sa)


def _versions() -> dict[str, str]:
    lines = (REPO / "kind/versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_kserve_release_matches_the_sdk_pin() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = pyproject["project"]["optional-dependencies"]["predictor"]
    sdk = next(p for p in pins if p.startswith("kserve=="))
    assert _versions()["KSERVE_VERSION"] == "v" + sdk.split("==")[1]


def test_minio_image_matches_versions_env() -> None:
    doc = yaml.safe_load((REPO / "manifests/overlays/kind/minio/kustomization.yaml").read_text())
    [image] = doc["images"]
    assert f"{image['newName']}:{image['newTag']}" == _versions()["MINIO_IMAGE"]


def _secret_env_files() -> list[Path]:
    """The env files that kustomize secretGenerators read (not ConfigMap envs)."""
    files = []
    for kustomization in REPO.glob("manifests/**/kustomization.yaml"):
        doc = yaml.safe_load(kustomization.read_text()) or {}
        for generator in doc.get("secretGenerator", []):
            files += [kustomization.parent / env for env in generator.get("envs", [])]
    return files


def test_no_secret_values_are_committed() -> None:
    env_files = _secret_env_files()
    assert env_files, "the S3 Secret should be generated from an env file of names"
    for env_file in env_files:
        for line in env_file.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                assert "=" not in line, f"{env_file}: values come from the environment, not git"


def test_kind_node_image_is_the_validated_kubernetes_version() -> None:
    from delivery.schemas import KUBERNETES_VERSION

    node = re.search(r"v(\d+\.\d+)", _versions()["KIND_NODE_IMAGE"])
    assert node and KUBERNETES_VERSION.startswith(node[1])


def test_kind_node_image_is_pinned_by_digest() -> None:
    # kind's release notes: node images are only guaranteed with the digest
    # listed for that kind release.
    image = _versions()["KIND_NODE_IMAGE"]
    assert re.fullmatch(r"kindest/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", image), image


def test_every_pin_reaches_the_e2e_workflow_env() -> None:
    """The e2e-kind workflow copies kind/versions.env into $GITHUB_ENV, where a
    comment line is an invalid format: its filter must pass every pin and
    nothing else."""
    workflow = yaml.safe_load((REPO / ".github/workflows/e2e-kind.yml").read_text())
    [step] = [s for s in workflow["jobs"]["e2e"]["steps"] if s.get("name") == "versions"]
    match = re.fullmatch(r"grep -E '([^']+)' kind/versions\.env >> \"\$GITHUB_ENV\"", step["run"])
    assert match, f"unexpected versions step: {step['run']!r}"
    lines = (REPO / "kind/versions.env").read_text().splitlines()
    passed = [line for line in lines if re.search(match[1], line)]
    assert passed == [f"{k}={v}" for k, v in _versions().items()]
    assert all(re.fullmatch(r"[A-Z_]+=\S+", line) for line in passed)

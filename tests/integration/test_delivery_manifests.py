"""Every kustomization under manifests/ renders with kubectl and every
rendered object validates against the real schemas; checkov finds nothing;
the security settings hold inside the KServe kinds checkov cannot read."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery import render, schemas

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
KUSTOMIZATIONS = render.discover(REPO / "manifests")
OVERLAYS = [k for k in KUSTOMIZATIONS if not k.is_component]
CHECKOV = Path(os.environ.get("HEART_CHECKOV", REPO / ".venv/tools/checkov/bin/checkov"))


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Each overlay rendered once per session."""
    result = {}
    for k in OVERLAYS:
        name = str(k.path.relative_to(REPO / "manifests")).replace("/", "_")
        text = render.render(k.path)
        result[name] = list(render.documents(text))
    return result


@pytest.fixture(scope="session")
def checkov_dir(
    rendered: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("checkov")
    for name, objects in rendered.items():
        if name != "base":  # not deployed alone (no namespace)
            (out / f"{name}.yaml").write_text(yaml.safe_dump_all(objects))
    return out


def _id(k: render.Kustomization) -> str:
    return str(k.path.relative_to(REPO))


@pytest.mark.parametrize("kustomization", OVERLAYS, ids=_id)
def test_renders_and_validates(kustomization: render.Kustomization) -> None:
    objects = list(render.documents(render.render(kustomization.path)))
    assert objects, f"{kustomization.path} renders nothing"
    errors = [e for obj in objects for e in schemas.validate(obj)]
    assert errors == []


def test_every_component_is_rendered_by_an_overlay() -> None:
    used = {c for k in OVERLAYS for c in render.referenced_components(k)}
    for component in (k for k in KUSTOMIZATIONS if k.is_component):
        assert component.path.resolve() in used, f"{component.path}: no overlay uses it"


def _containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for obj in objects:
        spec = obj.get("spec", {})
        for part in ("predictor", "transformer"):
            found += [
                (f"{obj['kind']}.{part}", c) for c in spec.get(part, {}).get("containers", [])
            ]
        if obj["kind"] == "ServingRuntime":
            found += [("ServingRuntime", c) for c in spec.get("containers", [])]
    return found


def test_kserve_containers_are_locked_down(rendered: dict[str, Any]) -> None:
    for name, objects in rendered.items():
        for where, container in _containers(objects):
            ctx = container.get("securityContext", {})
            label = f"{name}: {where}"
            assert ctx.get("runAsNonRoot") is True, label
            assert ctx.get("readOnlyRootFilesystem") is True, label
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], label
            assert {"limits", "requests"} <= set(container.get("resources", {})), label
            assert "readinessProbe" in container and "livenessProbe" in container, label


#: Overlays without a transformer on purpose (clients send the [N,13] tensor).
PREDICTOR_ONLY = {"overlays_cloud-predictor-canary"}


def _skipped(overlay: str) -> set[str]:
    """The KServe containers an overlay leaves out on purpose."""
    return {"InferenceService.transformer"} if overlay in PREDICTOR_ONLY else set()


def _flag(container: dict[str, Any], name: str) -> str:
    """The value of ``--name=value`` in the container's args."""
    values = [a.split("=", 1)[1] for a in container.get("args", []) if a.startswith(f"--{name}=")]
    assert len(values) == 1, f"{container['name']}: --{name}= given {len(values)} times"
    return values[0]


def _probe_port(probe: dict[str, Any]) -> Any:
    handler = next(probe[k] for k in ("httpGet", "tcpSocket", "grpc") if k in probe)
    return handler["port"]


def test_readiness_probes_ask_the_model(rendered: dict[str, Any]) -> None:
    """Both servers open their ports even for a model they refused (sha256,
    scikit-learn): readiness must be GET /v2/models/<model>/ready on the REST
    port, for the predictor runtime and the transformer of every overlay. The
    port is a number: Knative refuses a named probe port other than the
    declared port's name, and probes a numeric one where it points."""
    for name, objects in rendered.items():
        checked = set()
        for where, container in _containers(objects):
            get = container["readinessProbe"].get("httpGet")
            assert get, f"{name}: {where} readiness is not an HTTP GET"
            assert get["path"] == f"/v2/models/{_flag(container, 'model_name')}/ready", name
            assert get["port"] == int(_flag(container, "http_port")), f"{name}: {where}"
            checked.add(where)
        if not any(o["kind"] == "InferenceService" for o in objects):
            continue  # e.g. kind's MinIO alone
        expected = {"ServingRuntime"} | ({"InferenceService.transformer"} - _skipped(name))
        assert checked == expected, name


def test_liveness_probes_use_the_declared_port(rendered: dict[str, Any]) -> None:
    """Knative rewrites every liveness probe's port to the declared port: one
    anywhere else would silently probe something else."""
    for name, objects in rendered.items():
        for where, container in _containers(objects):
            declared = container["ports"][0]["containerPort"]
            assert _probe_port(container["livenessProbe"]) == declared, f"{name}: {where}"


#: Knative's default revision progress deadline (config-deployment
#: progress-deadline; a Standard-mode Deployment's progressDeadlineSeconds
#: default is the same). It also covers the image pull and storage initializer.
PROGRESS_DEADLINE_S = 600


def _probe_budget(probe: dict[str, Any]) -> int:
    """Longest time a probe keeps failing before the kubelet gives up."""
    attempts = probe.get("failureThreshold", 3)
    each = probe.get("periodSeconds", 10) + max(probe.get("timeoutSeconds", 1) - 1, 0)
    return int(probe.get("initialDelaySeconds", 0) + attempts * each)


def test_predictor_survives_model_load_and_compile(rendered: dict[str, Any]) -> None:
    """The predictor's server starts only after the model is loaded, verified
    and compiled: a startup probe holds liveness back for minutes, within the
    progress deadline. It asks whether the server is up, not whether the model
    is ready, so that a refused model is not restarted in a loop."""
    for name, objects in rendered.items():
        for where, container in _containers(objects):
            if where != "ServingRuntime":
                continue
            startup = container.get("startupProbe")
            assert startup, f"{name}: {where} has no startupProbe"
            live = {"path": "/v2/health/live", "port": int(_flag(container, "http_port"))}
            assert startup.get("httpGet") == live, name
            assert 120 <= _probe_budget(startup) <= PROGRESS_DEADLINE_S - 120, name


def _isvcs(rendered: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, obj)
        for name, objects in rendered.items()
        for obj in objects
        if obj["kind"] == "InferenceService"
    ]


def test_transformer_names_the_predictor_model_and_protocol(rendered: dict[str, Any]) -> None:
    for name, isvc in _isvcs(rendered):
        if name in PREDICTOR_ONLY:
            assert "transformer" not in isvc["spec"], name
            continue
        args = isvc["spec"]["transformer"]["containers"][0]["args"]
        assert f"--model_name={isvc['metadata']['name']}" in args, name
        assert any(a.startswith("--predictor_protocol=") for a in args), name


def test_canary_traffic_never_bypasses_the_transformer(rendered: dict[str, Any]) -> None:
    """KServe adds a spec.canary[] predictor beside the transformer in the
    top-level route: a Standard canary is only allowed without a transformer."""
    for name, isvc in _isvcs(rendered):
        if isvc["spec"].get("canary"):
            assert "transformer" not in isvc["spec"], name


@pytest.mark.parametrize("name", ["overlays_kind-canary", "overlays_cloud-canary"])
def test_canary_overlays_with_transformer_are_knative(rendered: dict[str, Any], name: str) -> None:
    isvc = next(o for o in rendered[name] if o["kind"] == "InferenceService")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert "canary" not in isvc["spec"] and "transformer" in isvc["spec"]


def test_knative_services_scale_with_knative(rendered: dict[str, Any]) -> None:
    """Knative mode scales with Knative's autoscaler (KPA: concurrency or rps);
    KServe's HPA class needs Knative's HPA extension, which no install here adds."""
    for name, isvc in _isvcs(rendered):
        annotations = isvc["metadata"].get("annotations", {})
        if annotations.get("serving.kserve.io/deploymentMode") != "Knative":
            continue
        assert annotations.get("serving.kserve.io/autoscalerClass") in (None, "none"), name
        for part in ("predictor", "transformer"):
            metric = isvc["spec"].get(part, {}).get("scaleMetric")
            assert metric in (None, "concurrency", "rps"), f"{name}: {part} {metric}"


def _buckets(objects: list[dict[str, Any]]) -> set[str]:
    uris = []
    for isvc in (o for o in objects if o["kind"] == "InferenceService"):
        uris.append(isvc["spec"]["predictor"]["model"]["storageUri"])
        uris += [c["predictor"]["model"]["storageUri"] for c in isvc["spec"].get("canary", [])]
    return {uri.split("/")[2] for uri in uris}


@pytest.mark.parametrize("overlay", OVERLAYS, ids=_id)
def test_models_stay_in_the_bucket_of_the_overlay_they_extend(
    overlay: render.Kustomization, rendered: dict[str, Any]
) -> None:
    """A variant of an overlay (canary, stock runtime) keeps its models in the
    parent overlay's bucket, where that overlay's S3 Secret points (the base
    is a template: each environment sets its own bucket)."""
    name = str(overlay.path.relative_to(REPO / "manifests")).replace("/", "_")
    for parent in render.referenced_overlays(overlay):
        if parent == (REPO / "manifests/base").resolve():
            continue
        parent_name = str(parent.relative_to(REPO / "manifests")).replace("/", "_")
        if _buckets(rendered[parent_name]):
            assert _buckets(rendered[name]) == _buckets(rendered[parent_name]), name


def test_checkov_finds_no_failed_checks(checkov_dir: Path) -> None:
    if not CHECKOV.exists():
        pytest.skip(f"checkov not built at {CHECKOV}: run `make validate` (or make test)")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(checkov_dir),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        (c["check_id"], c["resource"], c["file_path"])
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(r["summary"]["passed"] for r in reports) > 100


def _registry(image: str) -> str:
    """The registry host of an image reference (Docker Hub when it has none)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "index.docker.io"


def test_kind_images_are_local_and_skip_knative_tag_resolution(rendered: dict[str, Any]) -> None:
    """Images loaded with `kind load` are in no registry: Knative must not
    resolve their tags (registries-skipping-tag-resolving, set by
    kind/install.sh) and the kubelet must not try to pull them."""
    install = (REPO / "kind/install.sh").read_text()
    skip = re.search(r'"registries-skipping-tag-resolving":"([^"]+)"', install)
    assert skip, "kind/install.sh no longer configures Knative's tag resolution"
    for name in ("overlays_kind", "overlays_kind-canary"):
        for where, container in _containers(rendered[name]):
            label = f"{name}: {where} {container['image']}"
            assert _registry(container["image"]) in skip[1].split(","), label
            assert container.get("imagePullPolicy") in ("IfNotPresent", "Never"), label

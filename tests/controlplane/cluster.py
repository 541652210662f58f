"""A real Kubernetes control plane on loopback, with KServe's own manager.

Built from Go modules by ``make controlplane`` (controlplane/build.sh, versions
in controlplane/versions.env) into a cache folder; this module only starts
what was built:

- etcd and kube-apiserver (static token file, RBAC, self-signed serving cert);
- the CRDs of KServe (``install/<v>/kserve.yaml`` of the KServe module, the
  file a cluster installs) and Knative Serving (``config/core/300-resources``);
- KServe's ``manager`` (controller + webhooks) under its own ClusterRole from
  kserve.yaml, with the ``inferenceservice-config`` ConfigMap from the same
  file configured as kind/install.sh configures it, and its webhook
  configurations pointed at ``https://127.0.0.1:<port>`` with our caBundle
  (in a cluster cert-manager injects the caBundle and the Service routes);
- optionally kube-controller-manager (Deployments, ReplicaSets, Jobs, garbage
  collection) and KubeRay's operator.

Every process listens on 127.0.0.1 (the manager's webhook server binds its
port on all addresses, as in a pod) and is stopped by its pid.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO / "controlplane" / "versions.env"
KSERVE_NAMESPACE = "kserve"
#: KServe's manager identity and role (kserve.yaml: ServiceAccount, ClusterRole).
MANAGER_USER = "system:serviceaccount:kserve:kserve-controller-manager"
#: kserve.yaml names the manager's webhook Service; we rewrite those to a URL.
WEBHOOK_SERVICE = "kserve-webhook-server-service"
#: CRDs we do not install: their conversion webhooks are served by another
#: manager (llmisvc) that the tests do not run, and nothing here uses them.
SKIPPED_CRD_GROUPS = ("llm-d.ai", "inference.networking.k8s.io", "inference.networking.x-k8s.io")
SKIPPED_CRDS = ("llminferenceservices.", "llminferenceserviceconfigs.")


def versions() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in VERSIONS_FILE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def cache_dir() -> Path:
    """Where controlplane/build.sh puts the binaries (same rule as the script)."""
    explicit = os.environ.get("HEART_CONTROLPLANE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "heart-kserve" / "controlplane"


@dataclass(frozen=True)
class Builds:
    """The built components' folders (each has a ``.complete`` marker)."""

    etcd: Path
    kubernetes: Path
    kserve: Path
    knative: Path
    kuberay: Path
    prometheus_operator: Path

    @classmethod
    def locate(cls) -> Builds:
        v, root = versions(), cache_dir()
        builds = cls(
            root / f"etcd-{v['ETCD_VERSION']}",
            root / f"kubernetes-{v['KUBERNETES_VERSION']}",
            root / f"kserve-{v['KSERVE_VERSION']}",
            root / f"knative-serving-{v['KNATIVE_SERVING_MODULE_VERSION']}",
            root / f"kuberay-{v['KUBERAY_VERSION']}",
            root / f"prometheus-operator-{v['PROMETHEUS_OPERATOR_VERSION']}",
        )
        missing = [str(p) for p in builds.__dict__.values() if not (p / ".complete").exists()]
        if missing:
            raise RuntimeError(
                "the control plane is not built (run `make controlplane`): missing "
                + ", ".join(missing)
            )
        return builds


def free_port() -> int:
    from tests.conftest import free_port as _free_port

    return _free_port()


@dataclass
class Proc:
    """A started binary with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, proc: Proc | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        with suppress(Exception):
            if check():
                return
        time.sleep(0.25)
    raise TimeoutError(
        f"{what} not ready after {timeout:.0f}s" + (f":\n{proc.tail()}" if proc else "")
    )


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for IP 127.0.0.1 and its key (openssl)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@dataclass
class ControlPlane:
    """The running control plane; :meth:`kubectl` and :attr:`kubeconfig` reach it."""

    builds: Builds
    workdir: Path
    procs: list[Proc] = field(default_factory=list)
    kubeconfig: Path | None = None
    manager_kubeconfig: Path | None = None
    viewer_kubeconfig: Path | None = None
    server: str = ""
    token: str = ""
    ca_file: Path | None = None

    # ---- processes -------------------------------------------------------------
    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.workdir / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            cwd=self.workdir,
        )  # fmt: skip
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    def logs(self, name: str) -> str:
        return next((p.log.read_text(errors="replace") for p in self.procs if p.name == name), "")

    # ---- etcd + kube-apiserver ------------------------------------------------
    def start_apiserver(self) -> None:
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        etcd = self._start("etcd", [
            str(self.builds.etcd / "etcd"), "--data-dir", str(self.workdir / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync", "--log-level", "warn",
        ])  # fmt: skip
        wait_for("etcd", lambda: _http_ok(f"{etcd_url}/health"), 30, etcd)
        pki = self.workdir / "pki"
        pki.mkdir()
        subprocess.run(
            ["openssl", "genrsa", "-out", str(pki / "sa.key"), "2048"], check=True,
            capture_output=True,
        )  # fmt: skip
        self.token = secrets.token_hex(16)
        manager_token, viewer_token = secrets.token_hex(16), secrets.token_hex(16)
        (pki / "tokens.csv").write_text(
            f'{self.token},admin,admin,"system:masters"\n'
            f"{manager_token},{MANAGER_USER},kserve-manager,"
            '"system:serviceaccounts,system:serviceaccounts:kserve"\n'
            f"{viewer_token},viewer,viewer\n"
        )
        api = self._start("kube-apiserver", [
            str(self.builds.kubernetes / "kube-apiserver"),
            "--etcd-servers", etcd_url, "--bind-address", "127.0.0.1",
            "--advertise-address", "127.0.0.1", "--secure-port", str(api_port),
            "--cert-dir", str(pki / "serving"), "--token-auth-file", str(pki / "tokens.csv"),
            "--authorization-mode", "RBAC",
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(pki / "sa.key"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-cluster-ip-range", "10.96.0.0/16",
            # No kubelet, scheduler or ServiceAccount token controller runs.
            "--disable-admission-plugins", "ServiceAccount",
            "--enable-priority-and-fairness=false", "--profiling=false",
            # The default Service's endpoint would be 127.0.0.1, which is refused.
            "--endpoint-reconciler-type=none",
        ])  # fmt: skip
        self.server = f"https://127.0.0.1:{api_port}"
        self.ca_file = pki / "serving" / "apiserver.crt"
        wait_for("kube-apiserver", self._readyz, 90, api)
        self.kubeconfig = self._write_kubeconfig("admin", self.token, "kubeconfig")
        self.manager_kubeconfig = self._write_kubeconfig(
            "kserve-manager", manager_token, "kubeconfig-manager"
        )
        #: A user with no permissions of its own (tests grant it what they need).
        self.viewer_kubeconfig = self._write_kubeconfig("viewer", viewer_token, "kubeconfig-viewer")

    def _readyz(self) -> bool:
        if not self.ca_file or not self.ca_file.exists():
            return False
        context = ssl.create_default_context(cafile=str(self.ca_file))
        request = urllib.request.Request(
            f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, context=context, timeout=2) as response:
            return bool(response.status == 200)

    def _write_kubeconfig(self, user: str, token: str, filename: str) -> Path:
        assert self.ca_file is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {
                "server": self.server, "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
            "current-context": "local",
        }  # fmt: skip
        path = self.workdir / filename
        path.write_text(yaml.safe_dump(config))
        return path

    # ---- kubectl ---------------------------------------------------------------
    def kubectl(
        self,
        *args: str,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """The kubectl built with the API server (same version), on our kubeconfig."""
        assert self.kubeconfig is not None
        result = subprocess.run(
            [str(self.builds.kubernetes / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(
                f"kubectl {' '.join(args[:3])} exited {result.returncode}: {result.stderr[-3000:]}"
            )
        return result

    def apply(self, docs: Iterable[dict[str, Any]], *extra: str) -> None:
        """Server-side apply (CRDs this large do not fit a client-side apply's annotation)."""
        body = yaml.safe_dump_all(list(docs))
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", *extra, stdin=body)

    def env(self) -> dict[str, str]:
        """Environment for a client process (the canary CLI) talking to this cluster."""
        assert self.kubeconfig is not None
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    # ---- CRDs and KServe -------------------------------------------------------
    def install_crds(self) -> None:
        kserve_docs = yaml_docs(self.builds.kserve / "kserve.yaml")
        crds = [d for d in kserve_docs if d["kind"] == "CustomResourceDefinition" and _wanted(d)]
        knative = [
            d
            for f in sorted((self.builds.knative / "crd").glob("*.yaml"))
            for d in yaml_docs(f)
            if d.get("kind") == "CustomResourceDefinition"
        ]
        # The monitoring component's kinds (PodMonitor, PrometheusRule), generated
        # from prometheus-operator's API types: the overlays include them.
        monitoring = [
            d
            for f in sorted((self.builds.prometheus_operator / "crd").glob("*.yaml"))
            if f.name.endswith(("_podmonitors.yaml", "_prometheusrules.yaml"))
            for d in yaml_docs(f)
        ]
        self.apply(crds + knative + monitoring)
        self.wait_established([d["metadata"]["name"] for d in crds + knative + monitoring])
        # Knative's own config maps (KServe reads config-autoscaler, e.g. for
        # the initial scale), as serving-core.yaml installs them.
        configmaps = [
            d
            for f in sorted((self.builds.knative / "configmaps").glob("*.yaml"))
            for d in yaml_docs(f)
            if d.get("kind") == "ConfigMap"
        ]
        namespace = {"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": "knative-serving"}}  # fmt: skip
        self.apply([namespace, *configmaps])

    def wait_established(self, names: list[str]) -> None:
        def established() -> bool:
            listed = json.loads(self.kubectl("get", "crd", "-o", "json").stdout)["items"]
            ok = {
                crd["metadata"]["name"]
                for crd in listed
                for cond in (crd.get("status") or {}).get("conditions") or []
                if cond["type"] == "Established" and cond["status"] == "True"
            }
            return set(names) <= ok

        wait_for("CRDs Established", established, 60)

    def start_kserve(self) -> None:
        """KServe's manager with its webhooks registered, configured for Knative mode."""
        docs = yaml_docs(self.builds.kserve / "kserve.yaml")
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KSERVE_NAMESPACE}}
        self.apply([ns])
        wanted_rbac = {
            "kserve-manager-role",
            "kserve-manager-rolebinding",
            "kserve-leader-election-role",
            "kserve-leader-election-rolebinding",
        }
        rbac = [d for d in docs if d["metadata"]["name"] in wanted_rbac]
        config = next(d for d in docs if d["kind"] == "ConfigMap"
                      and d["metadata"]["name"] == "inferenceservice-config")  # fmt: skip
        configure_like_kind(config)
        storage = [d for d in docs if d["kind"] == "ClusterStorageContainer"]
        self.apply([*rbac, config, *storage])

        # controller-runtime's default certificate folder: $TMPDIR/k8s-webhook-server/serving-certs
        tmpdir = self.workdir / "manager-tmp"
        certs = tmpdir / "k8s-webhook-server" / "serving-certs"
        cert, _key = self_signed(certs, "tls")
        webhook_port, probe_port = free_port(), free_port()
        manager = self._start("kserve-manager", [
            str(self.builds.kserve / "manager"),
            "--kubeconfig", str(self.manager_kubeconfig),
            "--webhook-port", str(webhook_port),
            "--metrics-addr", f"127.0.0.1:{free_port()}",
            "--health-probe-addr", f"127.0.0.1:{probe_port}",
        ], env={"POD_NAMESPACE": KSERVE_NAMESPACE, "TMPDIR": str(tmpdir)})  # fmt: skip
        wait_for("kserve manager", lambda: _http_ok(f"http://127.0.0.1:{probe_port}/readyz"),
                 120, manager)  # fmt: skip
        hooks = [
            point_webhooks_at(d, f"https://127.0.0.1:{webhook_port}", cert.read_bytes())
            for d in docs
            if d["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
            and any(_service_of(w) == WEBHOOK_SERVICE for w in d["webhooks"])
        ]
        self.apply(hooks)

    def start_controller_manager(self) -> None:
        """kube-controller-manager: Deployments, ReplicaSets, Jobs, garbage
        collection and namespace deletion (nothing schedules or runs pods)."""
        proc = self._start("kube-controller-manager", [
            str(self.builds.kubernetes / "kube-controller-manager"),
            "--kubeconfig", str(self.kubeconfig), "--bind-address", "127.0.0.1",
            "--secure-port", str(port := free_port()), "--leader-elect=false",
            "--controllers", "deployment,replicaset,job,garbagecollector,namespace",
            "--use-service-account-credentials=false",
        ])  # fmt: skip
        wait_for("kube-controller-manager", lambda: _https_ok(f"https://127.0.0.1:{port}/healthz"),
                 60, proc)  # fmt: skip

    def start_kuberay(self) -> None:
        crds = [
            d for f in sorted((self.builds.kuberay / "crd").glob("*.yaml")) for d in yaml_docs(f)
        ]
        self.apply(crds)
        self.wait_established([d["metadata"]["name"] for d in crds])
        probe = free_port()
        proc = self._start("kuberay-operator", [
            str(self.builds.kuberay / "ray-operator"),
            "--metrics-addr", f"127.0.0.1:{free_port()}",
            "--health-probe-bind-address", f"127.0.0.1:{probe}",
            "--leader-election-namespace", "default", "--enable-leader-election=false",
        ], env={"KUBECONFIG": str(self.kubeconfig)})  # fmt: skip
        wait_for("kuberay operator", lambda: _http_ok(f"http://127.0.0.1:{probe}/readyz"), 60, proc)


def configure_like_kind(config: dict[str, Any]) -> None:
    """inferenceservice-config as kind/install.sh ``configure_kserve`` sets it:
    Knative the default mode, no Istio VirtualService, ingressDomain example.com."""
    ingress = json.loads(config["data"]["ingress"])
    ingress.update(disableIstioVirtualHost=True, ingressDomain="example.com")
    config["data"]["ingress"] = json.dumps(ingress)
    config["data"]["deploy"] = json.dumps({"defaultDeploymentMode": "Knative"})


def point_webhooks_at(doc: dict[str, Any], base_url: str, ca_pem: bytes) -> dict[str, Any]:
    """A webhook configuration whose Service reference becomes a URL with our
    caBundle (what cert-manager's injection and the Service do in a cluster)."""
    doc = json.loads(json.dumps(doc))
    doc["metadata"].pop("annotations", None)
    doc["metadata"].pop("creationTimestamp", None)
    for hook in doc["webhooks"]:
        service = hook["clientConfig"].pop("service")
        hook["clientConfig"] = {
            "url": base_url + service["path"],
            "caBundle": base64.b64encode(ca_pem).decode(),
        }
    return doc


def _service_of(hook: dict[str, Any]) -> str:
    return str((hook.get("clientConfig", {}).get("service") or {}).get("name", ""))


def _wanted(crd: dict[str, Any]) -> bool:
    name = crd["metadata"]["name"]
    return not (name.startswith(SKIPPED_CRDS) or crd["spec"]["group"] in SKIPPED_CRD_GROUPS)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def _https_ok(url: str) -> bool:
    """A self-signed loopback endpoint (its own generated certificate)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        return bool(response.status == 200)


def start(workdir: Path) -> Iterator[ControlPlane]:
    """etcd, kube-apiserver, CRDs and KServe's manager; stopped afterwards."""
    plane = ControlPlane(Builds.locate(), workdir)
    try:
        plane.start_apiserver()
        plane.install_crds()
        plane.start_kserve()
        yield plane
    finally:
        plane.stop()
        shutil.rmtree(workdir / "etcd", ignore_errors=True)

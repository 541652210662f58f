"""A real Prometheus (Debian's ``prometheus`` package) on loopback, scraping local servers.

:class:`Prometheus` writes a scrape configuration for the predictor and the
transformer (each target labelled ``component``, as the PodMonitors label
them in a cluster), loads ``monitoring/rules`` and starts the ``prometheus``
binary on 127.0.0.1; its HTTP API answers queries for tests and reports.
``python -m monitoring.local`` (``make monitor``) also starts the two
servers on ``--model_dir`` unless told to scrape running ones, prints the
URLs and runs until Ctrl-C (or ``--seconds``).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from monitoring.files import RULES

START_TIMEOUT = 60.0


def rules_copy(source: Path, out: Path, hold: str | None = None) -> Path:
    """``source`` written to ``out``; with ``hold`` every alert's ``for:`` becomes ``hold``.

    Tests cannot wait 15 minutes for an alert: they keep the expressions and
    shorten the hold.
    """
    groups = yaml.safe_load(source.read_text())
    if hold is not None:
        for group in groups["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["for"] = hold
    out.write_text(yaml.safe_dump(groups, sort_keys=False))
    return out


@dataclass
class Prometheus:
    """One Prometheus process; ``targets`` maps component -> ``host:port`` of its /metrics."""

    workdir: Path
    targets: Mapping[str, str]
    rules: Sequence[Path] = (RULES,)
    port: int = 9090
    scrape_interval: str = "5s"
    evaluation_interval: str = "5s"
    binary: str = "prometheus"
    #: A Prometheus that runs elsewhere (only its API is used).
    base_url: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.base_url or f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        jobs = [
            {
                "job_name": f"heart-{component}",
                "static_configs": [{"targets": [address], "labels": {"component": component}}],
            }
            for component, address in self.targets.items()
        ]
        return {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "rule_files": [str(Path(r).resolve()) for r in self.rules],
            "scrape_configs": jobs,
        }

    def start(self) -> Prometheus:
        binary = shutil.which(self.binary)
        if binary is None:
            raise FileNotFoundError(
                f"{self.binary} not found: run monitoring/install-prometheus.sh"
                " (Debian's prometheus package)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
        ]
        with (self.workdir / "prometheus.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> Prometheus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.workdir / "prometheus.log").read_text()[-2000:]
                raise RuntimeError(f"prometheus exited early:\n{log}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"prometheus not ready after {timeout} s")

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body.get('error', body)}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=expr)["result"])

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return list(self.api("query_range", query=expr, start=start, end=end, step=step)["result"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class LocalServers:
    """The predictor and the transformer as ``make serve`` runs them, with request logs on."""

    model_dir: Path
    logs: Path
    predictor_ports: tuple[int, int] = (8085, 8086)
    transformer_ports: tuple[int, int] = (8080, 8081)
    extra: Sequence[str] = ()
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def start(self) -> LocalServers:
        self.logs.mkdir(parents=True, exist_ok=True)
        (p_http, p_grpc), (t_http, t_grpc) = self.predictor_ports, self.transformer_ports
        predictor = ["-m", "predictor", "--model_dir", str(self.model_dir)]
        transformer = ["-m", "transformer", "--predictor_host", f"127.0.0.1:{p_grpc}"]
        transformer += ["--predictor_protocol", "grpc-v2", *self.extra]
        for name, args, (http, grpc) in (
            ("predictor", predictor, (p_http, p_grpc)),
            ("transformer", transformer, (t_http, t_grpc)),
        ):
            ports = ["--http_port", str(http), "--grpc_port", str(grpc)]
            command = [sys.executable, *args, *ports, "--bind_address", "127.0.0.1"]
            with (self.logs / f"{name}.log").open("ab") as log:
                command += ["--log_requests"]
                self.processes.append(subprocess.Popen(command, stdout=log, stderr=log))
        return self

    def wait_ready(self, timeout: float = 120.0) -> LocalServers:
        deadline = time.monotonic() + timeout
        for port in (self.predictor_ports[0], self.transformer_ports[0]):
            url = f"http://127.0.0.1:{port}/v2/models/heart/ready"
            while True:
                if any(p.poll() is not None for p in self.processes):
                    raise RuntimeError(f"a server exited early: see {self.logs}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} not ready after {timeout} s: see {self.logs}")
                time.sleep(0.5)
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Prometheus on loopback for the local servers.")
    parser.add_argument("--model_dir", default="artifacts/model")
    parser.add_argument("--predictor_http_port", type=int, default=8085)
    parser.add_argument("--predictor_grpc_port", type=int, default=8086)
    parser.add_argument("--transformer_http_port", type=int, default=8080)
    parser.add_argument("--transformer_grpc_port", type=int, default=8081)
    parser.add_argument("--prometheus_port", type=int, default=9090)
    parser.add_argument("--workdir", default="", help="Prometheus data (default: a temp dir)")
    parser.add_argument(
        "--no_serve", action="store_true", help="scrape servers that already run (make serve)"
    )
    parser.add_argument("--seconds", type=float, default=0, help="stop after this (0: Ctrl-C)")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="heart-prometheus-"))
    servers = None
    if not args.no_serve:
        servers = LocalServers(
            Path(args.model_dir),
            workdir / "logs",
            (args.predictor_http_port, args.predictor_grpc_port),
            (args.transformer_http_port, args.transformer_grpc_port),
        )
    targets = {
        "predictor": f"127.0.0.1:{args.predictor_http_port}",
        "transformer": f"127.0.0.1:{args.transformer_http_port}",
    }
    prometheus = Prometheus(workdir / "prometheus", targets, port=args.prometheus_port)
    _run(prometheus, servers, args.seconds)


def _run(prometheus: Prometheus, servers: LocalServers | None, seconds: float) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if servers is not None:
            servers.start().wait_ready()
            print(f"servers ready (request logs in {servers.logs})", flush=True)
        prometheus.start().wait_ready()
        print(f"Prometheus: {prometheus.url}  (alerts: {prometheus.url}/alerts)", flush=True)
        print("send traffic with `make predict` or `make loadtest`; Ctrl-C stops", flush=True)
        deadline = time.monotonic() + seconds if seconds else float("inf")
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        prometheus.stop()
        if servers is not None:
            servers.stop()
        sys.stdout.flush()


if __name__ == "__main__":
    main()

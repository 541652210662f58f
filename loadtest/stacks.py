"""The systems under test, each a list of :class:`~loadtest.servers.Server` on loopback.

- ``ours``: our predictor (``python -m predictor``, default engine: the
  parity-checked ONNX Runtime fast path);
- ``chain-rest`` / ``chain-grpc``: our transformer in front of that predictor,
  the hop over v2 REST or v2 gRPC;
- ``kserve-sklearn``: KServe's stock sklearn server (reproduced in
  :mod:`loadtest.peers.stock_sklearn`, ``PREDICT_PROBA=true``);
- ``mlserver``: MLServer + mlserver-sklearn, ``predict_fn: predict_proba``.

Every server gets ``--enable_latency_logging false`` (KServe) or
``debug: false`` (MLServer), its logging otherwise as shipped: MLServer logs
nothing per request; KServe's stock server still writes uvicorn's access line
and two ``kserve.trace`` timing lines (its TimingMiddleware is always added).
Ours honour the flag (no TimingMiddleware, :mod:`serving.kserve_adapter`)
and get ``--no_access_log``: no line per request, like MLServer (the JSON
request log, ``--log_requests``, is off by default).

Each server of a stack has a role, the key of its CPU time in the results:
``predictor`` (ours, alone or behind a transformer), ``transformer``, or
``server`` (a peer: its main process and its workers together).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from loadtest.loadgen import Expect
from loadtest.servers import Server, free_port

MODEL = "heart"
V2_READY = f"/v2/models/{MODEL}/ready"
V2_INFER = f"/v2/models/{MODEL}/infer"
QUIET = ["--enable_latency_logging", "false"]
#: Our servers' flag for no uvicorn access line (serving.settings).
OURS_QUIET = ["--no_access_log"]


@dataclass
class Stack:
    """``servers`` start in order; requests go to ``entry``; ``body`` is the payload kind.

    A correct answer holds ``per_row`` probabilities per row in the v2 output ``output``.
    """

    name: str
    servers: list[Server]
    entry: Server
    body: str  # "tensor" (FP32 [N, 13]) or "records" (one named input per field)
    output: str
    per_row: int = 1
    grpc_port: int = 0
    #: The role of each of ``servers``, in the same order.
    roles: tuple[str, ...] = ("server",)

    @property
    def infer_url(self) -> str:
        return self.entry.base_url + V2_INFER

    def rss_mb(self) -> float:
        return sum(s.rss_mb() for s in self.servers)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each role's processes."""
        return {role: s.cpu_seconds() for role, s in zip(self.roles, self.servers, strict=True)}

    def expect(self, rows: int) -> Expect:
        """The body check for an answer to a ``rows``-row request."""
        return Expect(self.output, rows * self.per_row)


def _kserve(name: str, module: str, args: list[str], work: Path) -> tuple[Server, int]:
    http, grpc = free_port(), free_port()
    argv = [
        sys.executable,
        "-m",
        module,
        *args,
        "--model_name",
        MODEL,
        "--http_port",
        str(http),
        "--grpc_port",
        str(grpc),
        "--bind_address",
        "127.0.0.1",
        *QUIET,
    ]
    return Server(name, argv, http, V2_READY, work / f"{name}.log"), grpc


def ours(model_dir: Path, work: Path, workers: int = 1) -> Stack:
    args = ["--model_dir", str(model_dir), "--workers", str(workers), *OURS_QUIET]
    server, grpc_port = _kserve("ours", "predictor", args, work)
    return Stack(
        "ours", [server], server, "tensor", "probability", grpc_port=grpc_port, roles=("predictor",)
    )


def chain_on(predictor: Stack, work: Path, hop: str) -> Stack:
    """Our transformer in front of ``predictor``'s server, the hop over ``rest`` or ``grpc``."""
    target = predictor.grpc_port if hop == "grpc" else predictor.entry.port
    protocol = "grpc-v2" if hop == "grpc" else "v2"
    hop_args = ["--predictor_host", f"127.0.0.1:{target}", "--predictor_protocol", protocol]
    hop_args += OURS_QUIET
    transformer, _ = _kserve(f"chain-{hop}", "transformer", hop_args, work)
    transformer.tier = 1
    servers = [predictor.entry, transformer]
    roles = ("predictor", "transformer")
    return Stack(f"chain-{hop}", servers, transformer, "records", "risk", roles=roles)


def kserve_sklearn(model_dir: Path, work: Path) -> Stack:
    server, _ = _kserve(
        "kserve-sklearn",
        "loadtest.peers.stock_sklearn",
        ["--model_dir", str(model_dir), "--enable_grpc", "false"],
        work,
    )
    server.env = {"PREDICT_PROBA": "true"}
    # get_predict_response names the [N, 2] predict_proba output "output-0".
    return Stack("kserve-sklearn", [server], server, "tensor", "output-0", per_row=2)


def mlserver(model_dir: Path, work: Path, python: Path, parallel_workers: int = 1) -> Stack:
    """MLServer from its own virtualenv, configured by files in ``work/mlserver``."""
    folder = work / "mlserver"
    (folder / MODEL).mkdir(parents=True, exist_ok=True)
    http = free_port()
    settings = {
        "host": "127.0.0.1",
        "http_port": http,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": parallel_workers,
        "debug": False,
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=2))
    model_settings = {
        "name": MODEL,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {
            "uri": str(model_dir / "model.joblib"),
            "extra": {"predict_fn": "predict_proba"},
        },
    }
    (folder / MODEL / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
    argv = [str(python.absolute().parent / "mlserver"), "start", str(folder)]
    server = Server("mlserver", argv, http, V2_READY, work / "mlserver.log", cwd=folder)
    # mlserver-sklearn names the output after predict_fn; [N, 2] probabilities.
    return Stack("mlserver", [server], server, "tensor", "predict_proba", per_row=2)


def start_all(systems: list[Stack]) -> None:
    """Start every distinct server, tier by tier (predictors before transformers)."""
    unique = list({id(server): server for st in systems for server in st.servers}.values())
    for tier in sorted({server.tier for server in unique}):
        batch = [server for server in unique if server.tier == tier]
        for server in batch:
            server.start()
        for server in batch:
            server.wait_ready()


def stop_all(systems: list[Stack]) -> None:
    for st in reversed(systems):
        for server in reversed(st.servers):
            server.stop()

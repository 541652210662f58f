"""``python -m loadtest.run`` (``make loadtest``): headless Locust, SLO-gated.

Without ``--host`` it starts the local stack on loopback (our predictor and
our transformer in front of it, the hop over gRPC) on the model in
``--model-dir`` (a default forest is fitted on Cleveland when it holds no
``model.json``), runs every user class and stops the stack. With ``--host`` it sends
the transformer users there (``--host-header`` for a KServe ingress), and
the predictor users only when ``--predictor-host`` / ``--grpc-host`` are given.

Bounded: the config's stages and ``max_run_time_s``, ``max_requests``.
Writes ``<out>/locust_*.csv``, ``locust.html`` and ``locust_slo.json``;
exits with Locust's code (1 when an SLO is breached).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from loadtest import config as load_config
from loadtest import stacks
from loadtest.models import fit_model_dir
from predictor.manifest import MANIFEST_FILE

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="", help="transformer base URL (empty: local stack)")
    p.add_argument("--host-header", default="", help="Host header for a KServe ingress")
    p.add_argument("--predictor-host", default="", help="predictor REST base URL")
    p.add_argument("--grpc-host", default="", help="predictor gRPC host:port")
    p.add_argument("--model-dir", type=Path, default=Path("artifacts/model"))
    p.add_argument("--config", type=Path, default=load_config.DEFAULT_CONFIG)
    p.add_argument("--out", type=Path, default=Path("reports/loadtest"))
    p.add_argument("--users", nargs="*", default=[], help="user classes (default: all usable)")
    p.add_argument("--max-requests", type=int, default=0, help="override the config's cap")
    return p


def user_classes(args: argparse.Namespace) -> list[str]:
    if args.users:
        return list(args.users)
    chosen = ["TransformerV2User", "TransformerV1User"]
    chosen += ["PredictorRestUser"] if args.predictor_host else []
    return chosen + (["PredictorGrpcUser"] if args.grpc_host else [])


def locust_argv(args: argparse.Namespace, cfg: load_config.LoadConfig) -> list[str]:
    run_time = int(min(cfg.total_s + 5, cfg.bounds.max_run_time_s))
    args.out.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        args.host,
        "--host-header",
        args.host_header,
        "--predictor-host",
        args.predictor_host,
        "--grpc-host",
        args.grpc_host,
        "--slo-config",
        str(args.config),
        "--max-requests",
        str(args.max_requests),
        "--run-time",
        f"{run_time}s",
        "--stop-timeout",
        "5",
        "--csv",
        str(args.out / "locust"),
        "--html",
        str(args.out / "locust.html"),
        *user_classes(args),
    ]


def run_locust(args: argparse.Namespace) -> int:
    cfg = load_config.load(args.config)
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    code = subprocess.call(locust_argv(args, cfg), env=env, cwd=REPO)
    print(f"reports: {args.out}/locust.html, locust_*.csv, locust_slo.json (exit {code})")
    return code


def with_local_stack(args: argparse.Namespace, work: Path) -> int:
    model_dir = args.model_dir
    if not (model_dir / MANIFEST_FILE).is_file():
        print(f"no model in {model_dir}: fitting a default forest on the Cleveland data")
        source = os.environ.get("HEART_DATA_SOURCE") or None
        model_dir = fit_model_dir("random_forest", work / "model", source)
    predictor = stacks.ours(model_dir, work)
    chain = stacks.chain_on(predictor, work, "grpc")
    try:
        stacks.start_all([predictor, chain])
        args.host = chain.entry.base_url
        args.predictor_host = predictor.entry.base_url
        args.grpc_host = f"127.0.0.1:{predictor.grpc_port}"
        return run_locust(args)
    finally:
        stacks.stop_all([chain, predictor])


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.host:
        return run_locust(args)
    with tempfile.TemporaryDirectory(prefix="heart-loadtest-") as tmp:
        return with_local_stack(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())

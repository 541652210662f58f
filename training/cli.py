"""``python -m training data|eda|train``: flags over the ecosystem's variables.

Environment: ``HEART_DATA_SOURCE`` (data mirror: folder or base URL),
``MLFLOW_TRACKING_URI`` (default: embedded ``sqlite:///mlflow.db``),
``MLFLOW_EXPERIMENT_NAME`` (default ``heart``) and MLflow's S3 variables
(``MLFLOW_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``),
read by MLflow/boto3 themselves. Flags win over variables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from training.data import DEFAULT_CACHE, SITES, DataError
from training.evaluate import CVSettings
from training.pipelines import FAMILIES
from training.tracking import DEFAULT_EXPERIMENT, DEFAULT_TRACKING_URI, TrackingSettings


def _sites(text: str) -> tuple[str, ...]:
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SITES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown site(s) {unknown}: choose from {list(SITES)}")
    return chosen


def _families(text: str) -> tuple[str, ...]:
    chosen = tuple(f.strip() for f in text.split(",") if f.strip())
    if not chosen or any(f not in FAMILIES for f in chosen):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(FAMILIES)}")
    return chosen


def _assignment(text: str) -> tuple[str, str, Any]:
    """``random_forest.n_estimators=50`` -> (family, key, 50); values are JSON or strings."""
    target, sep, raw = text.partition("=")
    family, dot, key = target.partition(".")
    if not sep or not dot or family not in FAMILIES:
        raise argparse.ArgumentTypeError(f"{text!r}: expected FAMILY.PARAM=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return family, key, value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default=os.environ.get("HEART_DATA_SOURCE") or None,
        help="data mirror: folder or base URL (env HEART_DATA_SOURCE; default UCI)",
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="verified files")


def _tracking(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI,
        help="MLflow tracking URI (env MLFLOW_TRACKING_URI; default embedded SQLite)",
    )
    parser.add_argument(
        "--experiment",
        default=os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT,
        help="MLflow experiment (env MLFLOW_EXPERIMENT_NAME)",
    )
    parser.add_argument(
        "--artifact-root", type=Path, default=Path("mlruns"), help="embedded store's artifacts"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="download, verify and cache the UCI files")
    _common(data)
    data.add_argument("--sites", type=_sites, default=tuple(SITES), help="comma-separated")
    data.add_argument(
        "--require", type=_sites, default=("cleveland",), help="sites that must be present"
    )
    eda = commands.add_parser("eda", help="plots and a report of the data")
    _common(eda)
    _tracking(eda)
    eda.add_argument("--out", type=Path, default=Path("reports/eda"), help="output folder")
    train = commands.add_parser("train", help="cross-validate, publish the champion")
    _common(train)
    _tracking(train)
    _train_flags(train)
    from training.tune import cli as tune_cli  # Ray: `tune` (imports Ray lazily)

    tune_cli.add_parser(commands)
    return parser


def _train_flags(train: argparse.ArgumentParser) -> None:
    train.add_argument("--model-dir", type=Path, default=Path("artifacts/model"))
    train.add_argument("--report-dir", type=Path, default=Path("reports/training"))
    train.add_argument("--families", type=_families, default=FAMILIES, help="comma-separated")
    train.add_argument("--folds", type=int, default=5)
    train.add_argument("--repeats", type=int, default=10)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel folds")
    train.add_argument(
        "--set",
        dest="assignments",
        type=_assignment,
        action="append",
        default=[],
        metavar="FAMILY.PARAM=VALUE",
        help="override a hyper-parameter (repeatable)",
    )
    train.add_argument(
        "--external-sites", type=_sites, default=tuple(s for s in SITES if s != "cleveland")
    )
    train.add_argument("--alias", default="champion", help="registry alias of the new version")


def tracking_settings(args: argparse.Namespace) -> TrackingSettings:
    return TrackingSettings(args.tracking_uri, args.experiment, args.artifact_root)


def cv_settings(args: argparse.Namespace) -> CVSettings:
    if args.folds < 2 or args.repeats < 1 or args.jobs < 1:
        raise SystemExit("error: --folds must be >= 2, --repeats and --jobs >= 1")
    return CVSettings(folds=args.folds, repeats=args.repeats, seed=args.seed, n_jobs=args.jobs)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from training import commands

    console = Console(stderr=True)
    try:
        return int(getattr(commands, args.command)(args, console))
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

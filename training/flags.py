"""The flags ``python -m training`` commands share, and the settings built from them.

Environment (read once, when the parser is built; flags win):
``HEART_DATA_SOURCE`` (data mirror: folder or base URL),
``MLFLOW_TRACKING_URI`` (default: the embedded ``sqlite:///mlflow.db``),
``MLFLOW_EXPERIMENT_NAME`` (default ``heart``). MLflow's S3 variables
(``MLFLOW_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``)
are read by MLflow and boto3 themselves.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from training.clikit import at_least, comma_separated
from training.data import DEFAULT_CACHE, SITES
from training.evaluate import CVSettings
from training.external import EXTERNAL_SITES
from training.pipelines import CALIBRATIONS, FAMILIES, MISSING
from training.sites import DEFAULT_TRAIN_SITES
from training.tracking import DEFAULT_EXPERIMENT, DEFAULT_TRACKING_URI, TrackingSettings

#: ``--sites a,b`` / ``--families a,b``: comma-separated choices.
sites = comma_separated(SITES, "site")
families = comma_separated(FAMILIES, "family")
#: ``--external-sites ""`` scores no other site.
external_sites = comma_separated(SITES, "site", allow_empty=True)
missing = comma_separated(MISSING, "missing-value handling")


def assignment(text: str) -> tuple[str, str, Any]:
    """``random_forest.n_estimators=50`` -> (family, key, 50); values are JSON or strings."""
    target, sep, raw = text.partition("=")
    family, dot, key = target.partition(".")
    if not sep or not dot or not key or family not in FAMILIES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected FAMILY.PARAM=VALUE with FAMILY one of {', '.join(FAMILIES)}"
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return family, key, value


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    source = os.environ.get("HEART_DATA_SOURCE") or None
    shown = source or "UCI's own addresses"
    group = parser.add_argument_group("data")
    group.add_argument(
        "--source",
        default=source,
        help="mirror of the UCI files: a folder or a base URL (env HEART_DATA_SOURCE;"
        f" default: {shown})",
    )
    group.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="folder of the verified files"
    )


def add_tracking_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("MLflow")
    group.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI,
        help="tracking store or server (env MLFLOW_TRACKING_URI)",
    )
    group.add_argument(
        "--experiment",
        default=os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT,
        help="experiment name (env MLFLOW_EXPERIMENT_NAME)",
    )
    group.add_argument(
        "--artifact-root",
        type=Path,
        default=Path("mlruns"),
        help="artifact folder of a new experiment in the embedded store",
    )


def add_cv_flags(parser: argparse.ArgumentParser, *, jobs: bool, seed_help: str) -> None:
    """Repeated stratified k-fold CV; ``jobs`` adds ``--jobs`` (parallel folds)."""
    cv = CVSettings()
    group = parser.add_argument_group("cross-validation")
    group.add_argument("--folds", type=at_least(2), default=cv.folds, help="CV folds")
    group.add_argument("--repeats", type=at_least(1), default=cv.repeats, help="CV repeats")
    group.add_argument("--seed", type=int, default=cv.seed, help=seed_help)
    if jobs:
        group.add_argument(
            "--jobs", type=at_least(1), default=os.cpu_count() or 1, help="folds run in parallel"
        )


def add_external_sites_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--external-sites",
        type=external_sites,
        default=EXTERNAL_SITES,
        help="sites the final model is scored on, training sites excepted ('' for none;"
        " absent ones are reported; default: all)",
    )


def add_sites_flags(parser: argparse.ArgumentParser) -> None:
    """``--train-sites`` (pooled; LOSO across them) and ``--bootstrap``."""
    parser.add_argument(
        "--train-sites",
        type=sites,
        default=DEFAULT_TRAIN_SITES,
        help="sites pooled for training and held out in turn by leave-one-site-out"
        f" evaluation (absent ones are skipped; default: {','.join(DEFAULT_TRAIN_SITES)})",
    )
    parser.add_argument(
        "--bootstrap",
        type=at_least(0),
        default=CVSettings().bootstrap,
        help="bootstrap resamples of each held-out site (confidence intervals; 0 = none)",
    )


def add_calibration_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--calibration",
        choices=CALIBRATIONS,
        default="sigmoid",
        help="calibration fitted inside every CV fold: sigmoid (Platt), isotonic or none",
    )


def add_families_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--families", type=families, default=FAMILIES, help=what)


def tracking_settings(args: argparse.Namespace) -> TrackingSettings:
    return TrackingSettings(args.tracking_uri, args.experiment, args.artifact_root)


def cv_settings(args: argparse.Namespace, n_jobs: int | None = None) -> CVSettings:
    """The CV protocol of ``args``, folds in ``n_jobs`` processes (default: ``--jobs``)."""
    jobs = args.jobs if n_jobs is None else n_jobs
    bootstrap = getattr(args, "bootstrap", CVSettings().bootstrap)
    return CVSettings(
        folds=args.folds, repeats=args.repeats, seed=args.seed, n_jobs=jobs, bootstrap=bootstrap
    )

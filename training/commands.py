"""``python -m training data|eda|train``: their flags and what each runs.

Each handler builds its typed settings from the parsed flags, runs the
command and returns the exit code.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient
from rich.console import Console
from rich.table import Table

from training import flags, report
from training.clikit import Commands, add_command
from training.data import SITES, SiteUnavailableError, fetch, parse_file
from training.eda import EdaSettings
from training.eda import run as run_eda
from training.train import DEFAULT_MISSING, TrainSettings
from training.train import run as run_train


def add_commands(commands: Commands) -> None:
    """Register ``data``, ``eda`` and ``train``."""
    data_parser = add_command(commands, "data", "download, verify and cache the UCI files", data)
    flags.add_data_flags(data_parser)
    data_parser.add_argument(
        "--sites", type=flags.sites, default=tuple(SITES), help="sites to fetch"
    )
    data_parser.add_argument(
        "--require", type=flags.sites, default=("cleveland",), help="sites that must be present"
    )

    eda_parser = add_command(commands, "eda", "plots and a report of the data", eda)
    flags.add_data_flags(eda_parser)
    flags.add_tracking_flags(eda_parser)
    eda_parser.add_argument(
        "--out", type=Path, default=Path("reports/eda"), help="folder of the plots and report"
    )

    train_parser = add_command(
        commands, "train", "cross-validate the families, publish the champion", train
    )
    flags.add_data_flags(train_parser)
    flags.add_tracking_flags(train_parser)
    _add_train_flags(train_parser)


def _add_train_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-dir", type=Path, default=Path("artifacts/model"), help="where model/ is exported"
    )
    parser.add_argument(
        "--report-dir", type=Path, default=Path("reports/training"), help="metrics report folder"
    )
    flags.add_sites_flags(parser)
    flags.add_families_flag(parser, "model families to cross-validate")
    parser.add_argument(
        "--missing",
        type=flags.missing,
        default=DEFAULT_MISSING,
        help="missing-value handlings compared, each with every family: indicator, drop"
        " (the site-specific tests ca, thal), impute (default: indicator,drop)",
    )
    flags.add_calibration_flag(parser)
    flags.add_cv_flags(parser, jobs=True, seed_help="CV folds and the models' seeds")
    parser.add_argument(
        "--set",
        dest="assignments",
        type=flags.assignment,
        action="append",
        default=[],
        metavar="FAMILY.PARAM=VALUE",
        help="override a hyper-parameter, VALUE in JSON (repeatable; default: none)",
    )
    flags.add_external_sites_flag(parser)
    parser.add_argument("--alias", default="champion", help="registry alias of the new version")


def data(args: argparse.Namespace, console: Console) -> int:
    """Fetch and verify each site; absent sites are fine unless required."""
    table = Table(title="UCI Heart Disease files")
    for column in ("site", "status", "rows", "disease", "file"):
        table.add_column(column)
    missing = []
    for site in args.sites:
        try:
            path = fetch(site, args.source, args.cache_dir)
        except SiteUnavailableError as exc:
            table.add_row(site, "absent", "-", "-", str(exc))
            missing.append(site)
            continue
        _, y = parse_file(path)
        table.add_row(site, "verified", str(len(y)), f"{y.mean():.1%}", str(path))
    Console(width=max(Console().width, 132)).print(table)
    required = [s for s in missing if s in args.require]
    if required:
        console.print(f"[red]error:[/] required site(s) absent: {', '.join(required)}")
        return 1
    return 0


def eda(args: argparse.Namespace, console: Console) -> int:
    tracking = flags.tracking_settings(args)
    settings = EdaSettings(args.source, args.cache_dir, args.out, tracking)
    report_path = run_eda(settings, console)
    console.print(f"EDA report: [bold]{report_path}[/]")
    return 0


def train(args: argparse.Namespace, console: Console) -> int:
    params: dict[str, dict[str, Any]] = defaultdict(dict)
    for family, key, value in args.assignments:
        params[family][key] = value
    settings = TrainSettings(
        source=args.source,
        cache_dir=args.cache_dir,
        model_dir=args.model_dir,
        report_dir=args.report_dir,
        train_sites=args.train_sites,
        families=args.families,
        missing=args.missing,
        calibration=args.calibration,
        params=dict(params),
        cv=flags.cv_settings(args),
        external_sites=args.external_sites,
        alias=args.alias,
        tracking=flags.tracking_settings(args),
    )
    outcome = run_train(settings, console)
    out = Console(width=max(Console().width, 132))
    for table in report.tables(outcome):
        out.print(table)
    path = report.write_markdown(outcome, settings.report_dir)
    for written in [path, *report.write_figures(outcome, settings.report_dir)]:
        MlflowClient().log_artifact(outcome.published.run_id, str(written), "report")
    published = outcome.published
    out.print(
        f"model {published.manifest.model_name} v{published.model_version} ({settings.alias}),"
        f" run {published.run_id}, threshold {published.manifest.threshold:.3f}\n"
        f"exported to {published.model_dir} and the run's 'model/' artifact;"
        f" report {path}; {outcome.seconds:.0f} s"
    )
    return 0

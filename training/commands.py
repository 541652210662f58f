"""The three CLI commands; each builds its typed settings from parsed flags."""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

from mlflow.tracking import MlflowClient
from rich.console import Console
from rich.table import Table

from training import cli, report
from training.data import SiteUnavailableError, fetch, parse_file
from training.train import TrainSettings
from training.train import run as run_train
from training.tune.cli import tune  # noqa: F401


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
    from training.eda import EdaSettings
    from training.eda import run as run_eda

    settings = EdaSettings(args.source, args.cache_dir, args.out, cli.tracking_settings(args))
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
        families=args.families,
        params=dict(params),
        cv=cli.cv_settings(args),
        external_sites=args.external_sites,
        alias=args.alias,
        tracking=cli.tracking_settings(args),
    )
    outcome = run_train(settings, console)
    out = Console(width=max(Console().width, 132))
    for table in report.tables(outcome):
        out.print(table)
    path = report.write_markdown(outcome, settings.report_dir)
    MlflowClient().log_artifact(outcome.published.run_id, str(path), "report")
    published = outcome.published
    out.print(
        f"model {published.manifest.model_name} v{published.model_version} ({settings.alias}),"
        f" run {published.run_id}, threshold {published.manifest.threshold:.3f}\n"
        f"exported to {published.model_dir} and the run's 'model/' artifact;"
        f" report {path}; {outcome.seconds:.0f} s"
    )
    return 0

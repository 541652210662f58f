"""``python -m training tune``: its flags, and the printed summary of a search.

Environment: ``RAY_ADDRESS`` (``auto``, ``HOST:PORT`` or ``ray://HOST:10001``:
run on that cluster; unset: a local Ray started for the command) and
``MODEL_DIR`` (where a promoted challenger is exported), plus the data and
MLflow variables of :mod:`training.flags`. Flags win over variables.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from training import flags
from training.champion import PromotionRule
from training.clikit import Commands, at_least, non_negative
from training.clikit import add_command as add_subcommand
from training.ray_cluster.flags import add_ray_flags, ray_settings

if TYPE_CHECKING:  # Ray Tune is imported when the command runs, not to parse flags
    from training.tune.search import TuneOutcome, TuneSettings

SUMMARY = "Ray Tune search; the best becomes 'challenger'"


def add_command(commands: Commands) -> None:
    """Register ``tune``."""
    parser = add_subcommand(commands, "tune", SUMMARY, tune)
    parser.add_argument("--show-space", action="store_true", help="print the search space, exit")
    flags.add_data_flags(parser)
    flags.add_tracking_flags(parser)
    _add_model_flags(parser)
    flags.add_cv_flags(parser, jobs=False, seed_help="CV folds and the TPE sampler")
    _add_search_flags(parser)
    add_ray_flags(parser)


def _add_model_flags(parser: argparse.ArgumentParser) -> None:
    champion_dir = os.environ.get("MODEL_DIR") or "artifacts/model"
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path("artifacts/challenger"),
        help="where the challenger's model/ is exported",
    )
    parser.add_argument(
        "--champion-dir",
        type=Path,
        default=Path(champion_dir),
        help="where a promoted challenger is exported (env MODEL_DIR)",
    )
    flags.add_sites_flags(parser)
    flags.add_families_flag(parser, "model families to search")
    flags.add_calibration_flag(parser)
    flags.add_external_sites_flag(parser)
    rule = PromotionRule()
    parser.add_argument(
        "--min-gain",
        type=float,
        default=rule.min_gain,
        help="ROC-AUC gain over the champion needed to promote",
    )
    parser.add_argument(
        "--brier-tolerance",
        type=non_negative,
        default=rule.brier_tolerance,
        help="how much worse than the champion's the Brier score may be",
    )


def _add_search_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("search")
    group.add_argument("--num-samples", type=at_least(1), default=20, help="budget: trials")
    group.add_argument(
        "--time-budget-s", type=non_negative, default=0.0, help="budget: seconds (0 = no limit)"
    )
    group.add_argument(
        "--max-concurrent",
        type=at_least(1),
        default=None,
        help="cap on parallel trials (default: as many as the CPUs allow)",
    )
    group.add_argument(
        "--storage", default="artifacts/ray", help="Ray experiment storage: folder or s3:// URI"
    )
    group.add_argument(
        "--name", default=None, help="experiment name (default: a new one, or the latest to resume)"
    )
    group.add_argument("--resume", action="store_true", help="resume an interrupted search")


def settings(args: argparse.Namespace) -> TuneSettings:
    from training.tune.search import TuneSettings

    return TuneSettings(
        source=args.source,
        cache_dir=args.cache_dir,
        model_dir=args.model_dir,
        champion_dir=args.champion_dir,
        train_sites=args.train_sites,
        families=args.families,
        calibration=args.calibration,
        # folds run inside the trial's one CPU; Ray runs trials in parallel
        cv=flags.cv_settings(args, n_jobs=1),
        num_samples=args.num_samples,
        time_budget_s=args.time_budget_s,
        max_concurrent=args.max_concurrent,
        seed=args.seed,
        storage=args.storage,
        name=args.name,
        resume=args.resume,
        external_sites=args.external_sites,
        rule=PromotionRule(args.min_gain, args.brier_tolerance),
        tracking=flags.tracking_settings(args),
        ray=ray_settings(args),
    )


def tune(args: argparse.Namespace, console: Console) -> int:
    from training.tune.search import TuneInterruptedError
    from training.tune.search import run as run_tune

    out = Console(width=max(Console().width, 120))
    if args.show_space:
        out.print(space_table())
        return 0
    try:
        outcome = run_tune(settings(args), console)
    except TuneInterruptedError as exc:
        console.print(f"[yellow]interrupted:[/] {exc}")
        return 130
    except ValueError as exc:  # nothing to resume, a cluster that cannot reach MLflow
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    out.print(summary(outcome))
    return 0


def space_table() -> Table:
    from training.tune.space import describe

    table = Table(title="make tune: search space (training/tune/space.py)")
    for column in ("family", "parameter", "range", "scale"):
        table.add_column(column)
    for row in describe():
        table.add_row(*row)
    return table


def summary(outcome: TuneOutcome) -> Table:
    release = outcome.release
    best, published, decision = release.best, release.published, release.decision
    table = Table(title=f"best of {outcome.trials} trials ({outcome.seconds:.0f} s)")
    table.add_column("")
    table.add_column("value")
    table.add_row("family", best.family)
    for key, value in best.params.items():
        table.add_row(f"  {key}", str(value))
    for name, value in best.metrics.items():
        table.add_row(f"CV {name}", str(value))
    table.add_row("threshold", f"{best.threshold:.3f}")
    registered = f"{published.manifest.model_name} v{published.model_version} (challenger)"
    table.add_row("registered", registered)
    verdict = "promoted to champion" if decision.promote else "champion unchanged"
    table.add_row("champion rule", f"{verdict}: {decision.reason}")
    table.add_row("challenger model/", str(published.model_dir))
    champion = f"exported to {release.champion_dir}" if release.champion_dir else "not changed"
    table.add_row("champion model/", champion)
    table.add_row("Ray experiment", outcome.experiment_path)
    return table

"""``python -m training tune``: flags, and the printed summary of a search.

Environment: ``RAY_ADDRESS`` (``auto`` or ``ray://host:10001``: run on that
cluster; unset: an embedded local Ray), plus the MLflow and data variables
of :mod:`training.cli`. Flags win over variables.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from training import cli
from training.champion import PromotionRule
from training.data import SITES

if TYPE_CHECKING:  # Ray Tune is imported when the command runs, not to parse flags
    from training.ray_cluster.session import RaySettings
    from training.tune.search import TuneOutcome, TuneSettings


def add_parser(commands: argparse._SubParsersAction) -> None:
    tune = commands.add_parser("tune", help="Ray Tune search; publish the best as 'challenger'")
    cli._common(tune)
    cli._tracking(tune)
    tune.add_argument("--model-dir", type=Path, default=Path("artifacts/challenger"),
                      help="the challenger's model/")  # fmt: skip
    tune.add_argument(
        "--champion-dir",
        type=Path,
        default=Path(os.environ.get("MODEL_DIR") or "artifacts/model"),
        help="where a promoted challenger is exported (env MODEL_DIR; default artifacts/model)",
    )
    tune.add_argument("--families", type=cli._families, default=("random_forest",
                      "logistic_regression"), help="comma-separated")  # fmt: skip
    tune.add_argument("--folds", type=int, default=5, help="CV folds per trial")
    tune.add_argument("--repeats", type=int, default=10, help="CV repeats per trial")
    tune.add_argument("--seed", type=int, default=0, help="CV folds and the TPE sampler")
    tune.add_argument("--num-samples", type=int, default=20, help="budget: number of trials")
    tune.add_argument("--time-budget-s", type=float, default=0.0, help="budget: seconds (0=none)")
    tune.add_argument("--max-concurrent", type=int, default=None, help="parallel trials cap")
    tune.add_argument("--storage", default="artifacts/ray", help="Ray experiment storage")
    tune.add_argument("--name", default=None, help="experiment name (default: new/latest)")
    tune.add_argument("--resume", action="store_true", help="resume an interrupted search")
    tune.add_argument(
        "--external-sites", type=cli._sites, default=tuple(s for s in SITES if s != "cleveland")
    )
    tune.add_argument("--min-gain", type=float, default=PromotionRule.min_gain,
                      help="ROC-AUC gain over the champion needed to promote")  # fmt: skip
    tune.add_argument("--brier-tolerance", type=float, default=PromotionRule.brier_tolerance)
    _ray_flags(tune)
    tune.add_argument("--show-space", action="store_true", help="print the search space, exit")


def _ray_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ray-address",
        default=os.environ.get("RAY_ADDRESS") or None,
        help="Ray cluster: auto or ray://host:10001 (env RAY_ADDRESS; default: local Ray)",
    )
    parser.add_argument("--num-cpus", type=int, default=None, help="local Ray's CPUs (all)")
    parser.add_argument(
        "--no-ship-code", action="store_true", help="the cluster's image already has our code"
    )


def ray_settings(args: argparse.Namespace) -> RaySettings:
    from training.ray_cluster.session import RaySettings

    return RaySettings(args.ray_address, args.num_cpus, not args.no_ship_code)


def settings(args: argparse.Namespace) -> TuneSettings:
    from training.tune.search import TuneSettings

    if args.num_samples < 1 or args.time_budget_s < 0:
        raise SystemExit("error: --num-samples must be >= 1 and --time-budget-s >= 0")
    args.jobs = 1  # folds run inside the trial's one CPU; Ray runs trials in parallel
    return TuneSettings(
        source=args.source,
        cache_dir=args.cache_dir,
        model_dir=args.model_dir,
        champion_dir=args.champion_dir,
        families=args.families,
        cv=cli.cv_settings(args),
        num_samples=args.num_samples,
        time_budget_s=args.time_budget_s,
        max_concurrent=args.max_concurrent,
        seed=args.seed,
        storage=args.storage,
        name=args.name,
        resume=args.resume,
        external_sites=args.external_sites,
        rule=PromotionRule(args.min_gain, args.brier_tolerance),
        tracking=cli.tracking_settings(args),
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
    except ValueError as exc:  # bad flags, nothing to resume, a cluster that cannot reach MLflow
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
    table.add_row("registered", f"{published.manifest.model_name} v{published.model_version}"
                  " (challenger)")  # fmt: skip
    verdict = "promoted to champion" if decision.promote else "champion unchanged"
    table.add_row("champion rule", f"{verdict}: {decision.reason}")
    table.add_row("challenger model/", str(published.model_dir))
    champion = f"exported to {release.champion_dir}" if release.champion_dir else "not changed"
    table.add_row("champion model/", champion)
    table.add_row("Ray experiment", outcome.experiment_path)
    return table

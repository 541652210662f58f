"""``python -m batch score``: flags, and the one-line errors of a bad input.

Exit codes: 0 scored (rejected rows are reported, not an error), 2 the input
or the model cannot be used at all (one line on stderr naming the file and
the reason).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from training.tune import cli as tune_cli


def add_parser(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser("score", help="batch-score a CSV/Parquet file (Ray Data)")
    score.add_argument("--input", type=Path, required=True, help="patient records .csv/.parquet")
    score.add_argument("--output", type=Path, required=True, help="scored rows .csv/.parquet")
    score.add_argument("--rejected", type=Path, default=None,
                       help="rejected rows (default OUTPUT.rejected.EXT)")  # fmt: skip
    score.add_argument(
        "--model-dir",
        default=os.environ.get("MODEL_DIR") or "artifacts/model",
        help="exported model/: path or s3:// URI (env MODEL_DIR)",
    )
    score.add_argument("--engine", default="onnx", help="predictor engine: onnx or sklearn")
    score.add_argument("--backend", choices=("ray", "pandas"), default="ray")
    score.add_argument("--batch-size", type=int, default=10_000, help="rows per batch")
    score.add_argument("--keep", action="append", default=[], metavar="COLUMN",
                       help="input column to carry into both outputs (repeatable)")  # fmt: skip
    tune_cli._ray_flags(score)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batch", description=__doc__)
    add_parser(parser.add_subparsers(dest="command", required=True))
    return score(parser.parse_args(argv), Console(stderr=True))


def _model_dir(text: str) -> str:
    return text if "://" in text else str(Path(text).resolve())


def score(args: argparse.Namespace, console: Console) -> int:
    from batch.job import ScoreSettings, default_rejected, run
    from batch.tables import ScoreInputError
    from predictor.inference import ENGINES
    from predictor.manifest import ManifestError
    from training.ray_cluster.reach import UnreachableError

    if args.engine not in ENGINES or args.batch_size < 1:
        console.print(f"error: --engine must be one of {', '.join(ENGINES)}, --batch-size >= 1")
        return 2
    settings = ScoreSettings(
        input=args.input,
        output=args.output,
        rejected=args.rejected or default_rejected(args.output),
        model_dir=_model_dir(args.model_dir),
        engine=args.engine,
        backend=args.backend,
        batch_size=args.batch_size,
        keep=tuple(args.keep),
        ray=tune_cli.ray_settings(args),
    )
    try:
        outcome = run(settings)
    except (ScoreInputError, ManifestError, FileNotFoundError, UnreachableError) as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    m = outcome.manifest
    console.print(
        f"{outcome.rows} rows: {outcome.scored} scored -> {settings.output},"
        f" {outcome.rejected} rejected -> {settings.rejected}"
        f" ({outcome.rows / outcome.seconds:,.0f} rows/s, {args.backend},"
        f" model {m.model_name} v{m.model_version or '-'})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0

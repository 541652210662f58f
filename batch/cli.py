"""python -m batch: score files of patient records with Ray Data, and benchmark it.

python -m batch score (make score) writes the scored rows and the rejected
rows of a CSV/Parquet file; python -m batch bench (make score-bench) compares
Ray Data with a plain pandas loop. python -m batch COMMAND --help lists each
command's flags and their defaults.

Exit codes of score: 0 scored (rejected rows are reported, not an
error); 2 a bad flag, or the input or the model cannot be used at all (one
line on stderr naming the file and the reason).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from batch import bench
from batch.job import BACKENDS, ScoreOutcome, ScoreSettings, default_rejected, run
from batch.tables import ScoreInputError
from predictor.inference import ENGINES
from predictor.manifest import ManifestError
from training import clikit
from training.ray_cluster.flags import add_ray_flags, ray_settings
from training.ray_cluster.reach import UnreachableError

PROG = "python -m batch"


def build_parser() -> argparse.ArgumentParser:
    parser = clikit.new_parser(PROG, __doc__ or "")
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    score_parser = clikit.add_command(
        commands, "score", "score a CSV/Parquet file of patient records (Ray Data)", score
    )
    add_score_flags(score_parser)
    bench.add_command(commands)
    return parser


def add_score_flags(parser: argparse.ArgumentParser) -> None:
    model_dir = os.environ.get("MODEL_DIR") or "artifacts/model"
    parser.add_argument("--input", type=Path, required=True, help="patient records .csv/.parquet")
    parser.add_argument("--output", type=Path, required=True, help="scored rows .csv/.parquet")
    parser.add_argument(
        "--rejected", type=Path, default=None, help="rejected rows (default: OUTPUT.rejected.EXT)"
    )
    parser.add_argument(
        "--model-dir", default=model_dir, help="exported model/: path or s3:// URI (env MODEL_DIR)"
    )
    parser.add_argument(
        "--engine", choices=tuple(ENGINES), default="onnx", help="the predictor's engine"
    )
    parser.add_argument("--backend", choices=BACKENDS, default="ray", help="where batches run")
    parser.add_argument(
        "--batch-size", type=clikit.at_least(1), default=10_000, help="rows per batch"
    )
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="COLUMN",
        help="input column to carry into both outputs (repeatable; default: none)",
    )
    parser.add_argument(
        "--summary-json",
        type=Path,
        default=None,
        help="also write the counts and timings as JSON to this file (default: none)",
    )
    add_ray_flags(parser)


def _model_dir(text: str) -> str:
    return text if "://" in text else str(Path(text).resolve())


def score(args: argparse.Namespace, console: Console) -> int:
    settings = ScoreSettings(
        input=args.input,
        output=args.output,
        rejected=args.rejected or default_rejected(args.output),
        model_dir=_model_dir(args.model_dir),
        engine=args.engine,
        backend=args.backend,
        batch_size=args.batch_size,
        keep=tuple(args.keep),
        ray=ray_settings(args),
    )
    try:
        outcome = run(settings)
    except (ScoreInputError, ManifestError, FileNotFoundError, UnreachableError) as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    console.print(summary(outcome, settings), markup=False, highlight=False, soft_wrap=True)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary_record(outcome, settings), indent=2))
    return 0


def summary(outcome: ScoreOutcome, settings: ScoreSettings) -> str:
    """The one line a run ends with; Ray's start-up is reported apart from the scoring rate."""
    m, timing = outcome.manifest, outcome.timing
    rate = timing.rows_per_s
    engine = "Ray start-up" if settings.backend == "ray" else "start-up"
    speed = (
        f"{engine} {timing.startup:.1f} s, then {rate:,.0f} rows/s"
        if rate is not None
        else f"{engine} and scoring {timing.startup:.1f} s (one batch)"
    )
    return (
        f"{outcome.rows} rows: {outcome.scored} scored -> {settings.output},"
        f" {outcome.rejected} rejected -> {settings.rejected}"
        f" ({speed}; {timing.total:.1f} s in all; {settings.backend},"
        f" model {m.model_name} v{m.model_version or '-'})"
    )


def summary_record(outcome: ScoreOutcome, settings: ScoreSettings) -> dict[str, object]:
    """``--summary-json``: what the line says, as numbers."""
    return {
        "backend": settings.backend,
        "rows": outcome.rows,
        "scored": outcome.scored,
        "rejected": outcome.rejected,
        "timing": asdict(outcome.timing),
        "rows_per_s_after_startup": outcome.timing.rows_per_s,
        "model_version": outcome.manifest.model_version,
    }


def main(argv: Sequence[str] | None = None) -> int:
    return clikit.run(build_parser(), argv)

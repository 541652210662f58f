"""``make score-bench``: Ray Data vs plain pandas on generated patient records.

Generates ``--rows`` valid records from the feature contract
(:func:`transformer.synthetic.generate`, 5 % missing values), then runs
``python -m batch score`` once per backend as a child process on the same
file and model, sampling the resident memory of the child and every process
it starts (Ray's GCS, raylet, workers) every 0.1 s. Reports side by side
the wall time, the start-up (Ray's start, its actors and their model loads;
pandas' model load), the rows/s after start-up and the peak memory; checks
the targets (Ray within ``--max-ratio`` x the plain wall time, peak memory
under ``--max-memory-gib``) and writes ``bench.json`` and ``bench.png`` to
``--out``.

Peak memory is the largest sum of RSS over the process tree: pages of Ray's
shared-memory object store count once per process that maps them, so the
Ray figure is an upper bound.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import psutil
from rich.console import Console
from rich.table import Table

from training.clikit import Commands, at_least, non_negative
from training.clikit import add_command as add_subcommand
from training.plots import new_figure, save
from transformer.synthetic import generate, to_records

GIB = 1024**3
BACKENDS = ("ray", "pandas")
DESCRIPTION = """\
Score the same generated records with Ray Data and with a plain pandas loop,
each in a fresh python -m batch score process, and report side by side: wall
time, start-up, rows/s after start-up and peak memory (RSS of the process and
everything it starts). Writes bench.json and bench.png to --out; exits 1 when
a target (--max-ratio, --max-memory-gib) is missed."""


@dataclass(frozen=True)
class Run:
    """One ``python -m batch score`` child: its wall time and peak memory, and
    the start-up and rows/s after start-up it reported (``--summary-json``)."""

    backend: str
    rows: int
    seconds: float
    peak_bytes: int
    startup_s: float
    rows_per_s_after_startup: float | None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def make_input(path: Path, rows: int, seed: int = 0) -> Path:
    """``rows`` contract-valid records (5 % missing) as CSV or Parquet, reused if present."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(to_records(generate(rows, seed=seed, missing_rate=0.05)))
        if path.suffix == ".parquet":
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False)
    return path


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            continue
    return total


def measure(backend: str, args: Sequence[str], rows: int, summary: Path) -> Run:
    """Run one ``python -m batch score`` and sample its process tree."""
    command = [sys.executable, "-m", "batch", "score", "--backend", backend, *args]
    command += ["--summary-json", str(summary)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watched, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(watched))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise RuntimeError(f"{backend} scoring failed ({child.returncode}):\n{output[-3000:]}")
    reported = json.loads(summary.read_text())
    startup = float(reported["timing"]["startup"])
    return Run(backend, rows, seconds, peak, startup, reported["rows_per_s_after_startup"])


def table(runs: list[Run], ratio: float) -> Table:
    out = Table(title=f"batch scoring, {runs[0].rows:,} rows (Ray / plain wall time {ratio:.2f}x)")
    columns = ("backend", "wall s", "rows/s", "start-up s", "rows/s after start-up", "peak GiB")
    for column in columns:
        out.add_column(column, justify="right")
    for run in runs:
        after = run.rows_per_s_after_startup
        out.add_row(
            run.backend,
            f"{run.seconds:.1f}",
            f"{run.rows_per_s:,.0f}",
            f"{run.startup_s:.1f}",
            f"{after:,.0f}" if after else "-",
            f"{run.peak_bytes / GIB:.2f}",
        )
    return out


def plot(runs: list[Run], path: Path) -> None:
    figure = new_figure((11, 3.2))
    speed, startup, memory = figure.subplots(1, 3)
    names = [r.backend for r in runs]
    colors = ["#4c72b0", "#dd8452"]
    speed.bar(names, [r.rows_per_s_after_startup or 0 for r in runs], color=colors)
    speed.set_title("rows / s after start-up (higher is better)")
    startup.bar(names, [r.startup_s for r in runs], color=colors)
    startup.set_title("start-up, s (lower is better)")
    memory.bar(names, [r.peak_bytes / GIB for r in runs], color=colors)
    memory.set_title("peak memory, GiB (lower is better)")
    figure.suptitle(f"batch scoring of {runs[0].rows:,} generated rows")
    save(figure, path)


def add_command(commands: Commands) -> None:
    """Register ``bench``."""
    summary = "Ray Data vs pandas on generated rows: speed, memory"
    parser = add_subcommand(commands, "bench", summary, bench, description=DESCRIPTION)
    parser.add_argument("--rows", type=at_least(1), default=1_000_000, help="generated records")
    parser.add_argument(
        "--model-dir",
        default=os.environ.get("MODEL_DIR") or "artifacts/model",
        help="exported model/: path or s3:// URI (env MODEL_DIR)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports/score-bench"), help="input, outputs, report"
    )
    parser.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="input file format"
    )
    parser.add_argument("--batch-size", type=at_least(1), default=50_000, help="rows per batch")
    parser.add_argument(
        "--max-ratio", type=non_negative, default=1.5, help="target: Ray / plain wall time"
    )
    parser.add_argument(
        "--max-memory-gib", type=non_negative, default=4.0, help="target: peak memory per run"
    )


def bench(args: argparse.Namespace, console: Console) -> int:
    out = Console()
    source = make_input(args.out / f"records-{args.rows}.{args.format}", args.rows)
    runs = []
    for backend in BACKENDS:
        out.print(f"scoring {source} with {backend} ...")
        flags = ["--input", str(source), "--output", str(args.out / f"scores-{backend}.parquet")]
        flags += ["--model-dir", args.model_dir, "--batch-size", str(args.batch_size)]
        summary = args.out / f"summary-{backend}.json"
        runs.append(measure(backend, flags, args.rows, summary))
    ratio = runs[0].seconds / runs[1].seconds
    out.print(table(runs, ratio))
    plot(runs, args.out / "bench.png")
    report = {"runs": [asdict(r) for r in runs], "ray_over_plain": ratio}
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    ok = ratio <= args.max_ratio and all(r.peak_bytes < args.max_memory_gib * GIB for r in runs)
    verdict = "met" if ok else "[red]NOT met[/]"
    out.print(f"targets (<= {args.max_ratio}x, < {args.max_memory_gib} GiB): {verdict}")
    return 0 if ok else 1

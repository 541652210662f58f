"""``make score-bench``: Ray Data vs plain pandas on generated patient records.

Generates ``--rows`` valid records from the feature contract
(:func:`transformer.synthetic.generate`, 5 % missing values), then runs
``python -m batch score`` once per backend as a child process on the same
file and model, sampling the resident memory of the child and every process
it starts (Ray's GCS, raylet, workers) every 0.1 s. Reports wall time,
rows/s and peak memory side by side, checks the targets (Ray within
``--max-ratio`` x the plain wall time, peak memory under ``--max-memory-gib``)
and writes ``bench.json`` and ``bench.png`` to ``--out``.

Peak memory is the largest sum of RSS over the process tree: pages of Ray's
shared-memory object store count once per process that maps them, so the
Ray figure is an upper bound.
"""

from __future__ import annotations

import argparse
import json
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

from transformer.synthetic import generate, to_records

GIB = 1024**3


@dataclass(frozen=True)
class Run:
    backend: str
    rows: int
    seconds: float
    peak_bytes: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def make_input(path: Path, rows: int, seed: int = 0) -> Path:
    """``rows`` contract-valid records (5 % missing) as CSV or Parquet, reused if present."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(to_records(generate(rows, seed=seed, missing_rate=0.05)))
        frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
    return path


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            continue
    return total


def measure(backend: str, args: Sequence[str], rows: int) -> Run:
    """Run one ``python -m batch score`` and sample its process tree."""
    command = [sys.executable, "-m", "batch", "score", "--backend", backend, *args]
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
    return Run(backend, rows, seconds, peak)


def table(runs: list[Run], ratio: float) -> Table:
    out = Table(title=f"batch scoring, {runs[0].rows:,} rows (Ray / plain wall time {ratio:.2f}x)")
    for column in ("backend", "wall s", "rows/s", "peak memory GiB"):
        out.add_column(column, justify="right")
    for run in runs:
        out.add_row(run.backend, f"{run.seconds:.1f}", f"{run.rows_per_s:,.0f}",
                    f"{run.peak_bytes / GIB:.2f}")  # fmt: skip
    return out


def plot(runs: list[Run], path: Path) -> None:
    from training.plots import new_figure

    figure = new_figure((8, 3.2))
    speed, memory = figure.subplots(1, 2)
    names = [r.backend for r in runs]
    speed.bar(names, [r.rows_per_s for r in runs], color=["#4c72b0", "#dd8452"])
    speed.set_title("rows / s (higher is better)")
    memory.bar(names, [r.peak_bytes / GIB for r in runs], color=["#4c72b0", "#dd8452"])
    memory.set_title("peak memory, GiB")
    figure.suptitle(f"batch scoring of {runs[0].rows:,} generated rows")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batch.bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--model-dir", default="artifacts/model")
    parser.add_argument("--out", type=Path, default=Path("reports/score-bench"))
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    parser.add_argument("--max-memory-gib", type=float, default=4.0)
    args = parser.parse_args(argv)
    console = Console()
    source = make_input(args.out / f"records-{args.rows}.{args.format}", args.rows)
    runs = []
    for backend in ("ray", "pandas"):
        console.print(f"scoring {source} with {backend} ...")
        flags = ["--input", str(source), "--output", str(args.out / f"scores-{backend}.parquet"),
                 "--model-dir", args.model_dir, "--batch-size", str(args.batch_size)]  # fmt: skip
        runs.append(measure(backend, flags, args.rows))
    ratio = runs[0].seconds / runs[1].seconds
    console.print(table(runs, ratio))
    plot(runs, args.out / "bench.png")
    report = {"runs": [asdict(r) for r in runs], "ray_over_plain": ratio}
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    ok = ratio <= args.max_ratio and all(r.peak_bytes < args.max_memory_gib * GIB for r in runs)
    verdict = "met" if ok else "[red]NOT met[/]"
    console.print(f"targets (<= {args.max_ratio}x, < {args.max_memory_gib} GiB): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

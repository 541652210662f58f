"""``python -m loadtest.bench``: our serving path against KServe's sklearn server and MLServer.

Per model (RF, LR) every system runs at once on loopback (idle servers cost
next to nothing); then, for each round, each request shape and each
concurrency, the systems are driven one after the other by the same
closed-loop generator, so rounds interleave and a slow minute of the shared
machine hits every system alike. Results: ``reports/bench/latest.json``,
``latest.png`` and a table (see :mod:`loadtest.report`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, TaskID

from loadtest import loadgen, payloads, report, stacks, summary
from loadtest.environment import describe_machine
from loadtest.models import BENCH_RF_TREES, model_dirs
from loadtest.plot import plot

#: Wide enough for the results table when the output is a log file, not a terminal.
console = Console(width=None if Console().is_terminal else 150)


@dataclass(frozen=True)
class BenchSettings:
    """Conditions of one benchmark run (``--quick`` shrinks durations and shapes)."""

    rounds: int
    duration_s: float
    warmup_s: float
    rows: tuple[int, ...]
    concurrency: tuple[int, ...]
    out_dir: Path
    loadgen: Path
    mlserver_python: Path
    trained_model: Path | None
    data_source: str | None
    quick: bool
    rf_trees: int = BENCH_RF_TREES

    @classmethod
    def parse(cls, argv: Sequence[str] | None = None) -> BenchSettings:
        p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        p.add_argument("--quick", action="store_true", help="concurrency 8 only, short runs")
        p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (>= 2)")
        p.add_argument("--duration", type=float, help="measured seconds per run")
        p.add_argument("--warmup", type=float, help="unrecorded seconds before each run")
        p.add_argument("--out", type=Path, default=Path("reports/bench"))
        p.add_argument("--loadgen", type=Path, default=loadgen.DEFAULT_BINARY)
        p.add_argument("--mlserver-python", type=Path, default=Path(".venv-mlserver/bin/python"))
        trained = Path(os.environ.get("MODEL_DIR") or "artifacts/model")
        p.add_argument("--model-dir", type=Path, default=trained, help="trained RF, if present")
        p.add_argument("--data-source", default=os.environ.get("HEART_DATA_SOURCE") or None)
        p.add_argument(
            "--rf-trees",
            type=int,
            default=BENCH_RF_TREES,
            help="trees in the benchmark's forest (default: the issue's reference, 100);"
            " --model-dir is used only if it is a forest with that many",
        )
        a = p.parse_args(argv)
        if a.rounds < 1:
            p.error("--rounds must be >= 1")
        if a.rf_trees < 1:
            p.error("--rf-trees must be >= 1")
        duration = a.duration or (1.0 if a.quick else 5.0)
        warmup = a.warmup or (0.3 if a.quick else 1.0)
        concurrency = (8,) if a.quick else (1, 8, 32)
        return cls(
            a.rounds,
            duration,
            warmup,
            (1, 64),
            concurrency,
            a.out,
            a.loadgen,
            a.mlserver_python,
            a.model_dir,
            a.data_source,
            a.quick,
            a.rf_trees,
        )


def build_stacks(model_dir: Path, work: Path, s: BenchSettings) -> list[stacks.Stack]:
    """Ours, the two chains (sharing our predictor), and the two peers."""
    ours = stacks.ours(model_dir, work)
    return [
        ours,
        stacks.chain_on(ours, work, "rest"),
        stacks.chain_on(ours, work, "grpc"),
        stacks.kserve_sklearn(model_dir, work),
        stacks.mlserver(model_dir, work, s.mlserver_python),
    ]


@dataclass
class Runner:
    """Drives every system of one model through the rounds, reporting progress."""

    settings: BenchSettings
    work: Path
    progress: Progress
    task: TaskID

    def measure(self, model: str, model_dir: Path) -> list[report.Sample]:
        systems = build_stacks(model_dir, self.work / model, self.settings)
        try:
            stacks.start_all(systems)
            rounds = range(self.settings.rounds)
            return [sample for rnd in rounds for sample in self._round(model, systems, rnd)]
        finally:
            stacks.stop_all(systems)

    def _round(self, model: str, systems: list[stacks.Stack], rnd: int) -> list[report.Sample]:
        """Every shape, each driven on every system in turn (order rotated per round)."""
        order = systems[rnd % len(systems) :] + systems[: rnd % len(systems)]
        s = self.settings
        return [
            self._run(model, system, rows, conc, rnd)
            for rows in s.rows
            for conc in s.concurrency
            for system in order
        ]

    def _run(
        self, model: str, system: stacks.Stack, rows: int, conc: int, rnd: int
    ) -> report.Sample:
        s = self.settings
        self.progress.update(self.task, description=f"{model} {system.name} {rows}-row c{conc}")
        bodies = payloads.write_bodies(self.work / f"{system.body}-{rows}.jsonl", system.body, rows)
        result = loadgen.run(
            system.infer_url,
            bodies,
            conc,
            s.duration_s,
            warmup_s=s.warmup_s,
            expect=system.expect(rows),
            binary=s.loadgen,
        )
        self.progress.advance(self.task)
        return report.Sample(system.name, model, rows, conc, rnd, result, system.rss_mb())


def main(argv: Sequence[str] | None = None) -> None:
    s = BenchSettings.parse(argv)
    console.print(report.LOADGEN_NOTE)
    machine = describe_machine()
    with tempfile.TemporaryDirectory(prefix="heart-bench-") as tmp:
        work = Path(tmp)
        models = model_dirs(work / "models", s.trained_model, s.data_source, s.rf_trees)
        for name, path in models.items():
            console.print(f"{name}: {report.describe_model(path)}")
        runs = len(models) * s.rounds * len(s.rows) * len(s.concurrency) * 5
        samples: list[report.Sample] = []
        with Progress(console=console) as progress:
            runner = Runner(s, work, progress, progress.add_task("benchmark", total=runs))
            for model, model_dir in models.items():
                samples += runner.measure(model, model_dir)
        result = report.build(samples, models, s, machine)
    s.out_dir.mkdir(parents=True, exist_ok=True)
    report.write_json(result, s.out_dir / "latest.json")
    plot(result, s.out_dir / "latest.png")
    summary.print_table(result, console)
    console.print(f"wrote {s.out_dir / 'latest.json'} and {s.out_dir / 'latest.png'}")


if __name__ == "__main__":
    main()

"""``python -m loadtest.profile`` (``make profile``): py-spy on a server under the Go loadgen.

Starts our predictor and, for a chain, our transformer in front of it (as the
benchmark does: same model directories, loopback, no per-request log), warms
the system up with the Go load generator, then samples one process with
py-spy (``record --format raw --function --threads``) while the generator
keeps the load on, and reads each thread's CPU time from /proc over the same
window (py-spy's samples of each thread are weighted by it, see
:mod:`loadtest.profile_report`). Writes to ``--out``:

- ``<name>.txt``: the collapsed stacks (open them in speedscope or flamegraph.pl);
- ``<name>.md``: the CPU of each thread; where the CPU goes (area of the
  innermost frame), our functions and every function with what they call,
  self time; the conditions and the CPU ms per request of each process;
- ``<name>.png``: the areas as bars.

py-spy reads the target's memory (ptrace): it needs root or
``kernel.yama.ptrace_scope`` 0 for a process it did not start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loadtest import bench, payloads, profile_report, stacks
from loadtest.environment import load_average
from loadtest.loadgen import DEFAULT_BINARY, LoadResult
from loadtest.models import BENCH_RF_TREES, fit_model_dir, forest_dir

SYSTEMS = ("chain-grpc", "chain-rest", "ours")


@dataclass(frozen=True)
class ProfileSettings:
    system: str
    process: str
    model: str
    rows: int
    concurrency: int
    duration_s: float
    warmup_s: float
    rate: int
    native: bool
    out: Path
    loadgen: Path
    model_dir: Path | None
    data_source: str | None

    @property
    def name(self) -> str:
        return f"{self.process}-{self.system}-{self.model}-{self.rows}row-c{self.concurrency}"

    @classmethod
    def parse(cls, argv: Sequence[str] | None = None) -> ProfileSettings:
        p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        p.add_argument("--system", choices=SYSTEMS, default="chain-grpc")
        p.add_argument("--process", choices=("transformer", "predictor"), default="transformer")
        p.add_argument("--model", choices=("RF", "LR"), default="RF")
        p.add_argument("--rows", type=int, default=1, help="rows per request")
        p.add_argument("--concurrency", type=int, default=8)
        p.add_argument("--duration", type=float, default=20.0, help="seconds sampled")
        p.add_argument("--warmup", type=float, default=2.0)
        p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
        p.add_argument("--native", action="store_true", help="with C/C++ frames (py-spy --native)")
        p.add_argument("--out", type=Path, default=Path("reports/profile"))
        p.add_argument("--loadgen", type=Path, default=DEFAULT_BINARY)
        p.add_argument("--model-dir", type=Path, help="an exported model (default: fitted)")
        p.add_argument("--data-source", default=os.environ.get("HEART_DATA_SOURCE") or None)
        a = p.parse_args(argv)
        if a.system == "ours" and a.process == "transformer":
            p.error("--system ours has no transformer: use --process predictor")
        if min(a.rows, a.concurrency, a.rate) < 1 or a.duration <= 0:
            p.error("--rows, --concurrency, --rate and --duration must be positive")
        return cls(
            a.system,
            a.process,
            a.model,
            a.rows,
            a.concurrency,
            a.duration,
            a.warmup,
            a.rate,
            a.native,
            a.out,
            a.loadgen,
            a.model_dir,
            a.data_source,
        )


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).is_file():
        sys.exit("py-spy is not installed: pip install -e '.[loadtest]' (make install)")
    return found


def _model_dir(s: ProfileSettings, work: Path) -> Path:
    if s.model_dir:
        return s.model_dir
    if s.model == "RF":
        return forest_dir(work, None, s.data_source, BENCH_RF_TREES)
    return fit_model_dir("logistic_regression", work / "lr", s.data_source)


def _system(s: ProfileSettings, model_dir: Path, work: Path) -> stacks.Stack:
    ours = stacks.ours(model_dir, work)
    return ours if s.system == "ours" else stacks.chain_on(ours, work, s.system.split("-")[1])


ThreadCpu = dict[int, tuple[str, float]]


def record(
    s: ProfileSettings, system: stacks.Stack, raw: Path, work: Path
) -> tuple[LoadResult, dict[str, float], ThreadCpu]:
    """Keep the load on while py-spy samples ``s.process`` for ``s.duration_s`` seconds.

    Returns the load's result, each role's CPU seconds and each thread's of the
    sampled process over the loaded window.
    """
    target = system.servers[system.roles.index(s.process)]
    assert target.process is not None, "the system is started"
    pid = target.process.pid
    threads: list[ThreadCpu] = []
    argv = [py_spy(), "record", "--pid", str(pid), "--rate", str(s.rate)]
    argv += ["--duration", str(int(s.duration_s)), "--format", "raw", "--function", "--threads"]
    argv += ["--output", str(raw), *(["--native"] if s.native else [])]
    spies: list[subprocess.Popen[bytes]] = []
    bodies = payloads.write_bodies(work / f"{system.body}-{s.rows}.jsonl", system.body, s.rows)

    def start_sampling() -> None:
        threads.append(profile_report.thread_cpu(pid))
        spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))

    # the load outlasts the sampling by a second at each end (py-spy attaches, then stops)
    load = (s.warmup_s, s.duration_s + 2.0)
    result, cpu = bench.drive(
        system,
        bodies,
        s.rows,
        s.concurrency,
        duration_s=load[1],
        warmup_s=load[0],
        binary=s.loadgen,
        on_warm=start_sampling,
    )
    used = profile_report.thread_delta(threads[0], profile_report.thread_cpu(pid))
    (spy,) = spies
    _, err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not raw.is_file():
        sys.exit(f"py-spy failed ({spy.returncode}): {err.decode(errors='replace').strip()}")
    return result, cpu, used


def conditions(s: ProfileSettings, result: LoadResult, cpu: dict[str, float]) -> str:
    per_request = ", ".join(
        f"{role} {sec * 1000 / result.requests:.2f}" for role, sec in cpu.items()
    )
    return (
        f"{s.process} of `{s.system}`, {s.model}, {s.rows}-row v2 REST requests, concurrency"
        f" {s.concurrency}, {s.duration_s:g} s at {s.rate} samples/s under the Go load generator:"
        f" {result.rps:.0f} req/s, {result.errors} errors of {result.requests}; CPU ms/request"
        f" during the profile: {per_request}; load average {load_average()[0]} at the end."
    )


def write(s: ProfileSettings, raw: Path, header: str, threads: ThreadCpu) -> Path:
    sampled = profile_report.read(raw)
    stacks_ = profile_report.weigh(sampled, threads)
    waits = profile_report.waiting_share(sampled)
    header += f" {waits:.0%} of py-spy's samples were in a wait and are left out."
    title = f"py-spy: {s.name}"
    summary = s.out / f"{s.name}.md"
    table = profile_report.thread_table(threads)
    preamble = f"{header}\n\n## CPU by thread during the load (from /proc)\n\n{table}"
    summary.write_text(profile_report.markdown(stacks_, title, preamble))
    profile_report.plot_areas(stacks_, title, s.out / f"{s.name}.png")
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    s = ProfileSettings.parse(argv)
    py_spy()
    s.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="heart-profile-") as tmp:
        work = Path(tmp)
        system = _system(s, _model_dir(s, work), work)
        try:
            stacks.start_all([system])
            print(f"sampling the {s.process} of {s.system} for {s.duration_s:g} s under load")
            raw = s.out / f"{s.name}.txt"
            result, cpu, threads = record(s, system, raw, work)
        finally:
            stacks.stop_all([system])
    summary = write(s, raw, conditions(s, result, cpu), threads)
    print(summary.read_text())
    print(f"wrote {raw} (collapsed stacks), {summary} and {summary.with_suffix('.png')}")


if __name__ == "__main__":
    main()

"""Python side of the Go load generator (``loadtest/loadgen``, built by ``make loadgen``).

Why Go: a closed-loop Python client (asyncio/aiohttp or Locust) costs about
as much CPU per request as the servers it measures, and on this 2-core
machine the generator shares the cores with the servers. The Go program
keeps one keep-alive connection per worker, uses at most one core
(GOMAXPROCS=1) and spends tens of microseconds per request; it reports its
own CPU time so that the cost can be checked in every result.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BINARY = Path(__file__).resolve().parent / "bin" / "loadgen"


@dataclass(frozen=True)
class LoadResult:
    """One closed-loop run, as the generator reports it (latencies in ms)."""

    requests: int
    errors: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    statuses: dict[str, int]
    loadgen_cpu_s: float
    last_error: str = ""
    warmup_s: float = 0.0
    #: Of ``errors``: answers with the right status whose body failed the check.
    body_errors: int = 0

    @classmethod
    def from_json(cls, text: str) -> LoadResult:
        data = json.loads(text)
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Expect:
    """What a correct answer holds: v2 output ``output`` with ``values`` probabilities."""

    output: str
    values: int

    def argv(self) -> list[str]:
        return ["-expect-output", self.output, "-expect-values", str(self.values)]


def run(
    url: str,
    bodies: Path,
    concurrency: int,
    duration_s: float,
    *,
    warmup_s: float = 1.0,
    max_requests: int = 0,
    host_header: str = "",
    expect: Expect | None = None,
    binary: Path = DEFAULT_BINARY,
) -> LoadResult:
    """Drive ``url`` closed-loop with ``concurrency`` workers; raises when the binary fails.

    With ``expect``, an answer counts as an error unless it holds those probabilities.
    """
    argv = [
        str(binary),
        "-url",
        url,
        "-bodies",
        str(bodies),
        "-c",
        str(concurrency),
        "-d",
        f"{duration_s}s",
        "-warmup",
        f"{warmup_s}s",
        "-n",
        str(max_requests),
    ]
    if host_header:
        argv += ["-host-header", host_header]
    if expect:
        argv += expect.argv()
    timeout = duration_s + warmup_s + 60
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed ({done.returncode}): {done.stderr.strip()}")
    return LoadResult.from_json(done.stdout)

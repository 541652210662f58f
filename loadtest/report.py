"""Benchmark results: medians over rounds, ratios ours/peer, targets, table, JSON.

One record per server x model x rows x concurrency with the medians of
``rps``, ``p50_ms``, ``p99_ms`` over the rounds, the largest ``rss_mb`` seen
and, for our systems, ``ratios`` against each peer (throughput ours/peer,
p50 ours/peer).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtest.environment import load_average
from loadtest.loadgen import LoadResult
from loadtest.targets import evaluate

PEERS = ("kserve-sklearn", "mlserver")
OURS = ("ours", "chain-rest", "chain-grpc")
LOADGEN_NOTE = (
    "Note: the load generator (loadtest/loadgen, Go, GOMAXPROCS=1) runs on the same machine and"
    " shares its cores with the servers it measures; its CPU seconds are in every raw sample."
)
Key = tuple[str, str, int, int]  # server, model, rows, concurrency


@dataclass(frozen=True)
class Sample:
    """One closed-loop run of one system in one round."""

    server: str
    model: str
    rows: int
    concurrency: int
    round: int
    result: LoadResult
    rss_mb: float


def _median(samples: list[Sample], field: str) -> float:
    return float(statistics.median(getattr(s.result, field) for s in samples))


def records(samples: list[Sample]) -> list[dict[str, Any]]:
    groups: dict[Key, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[(s.server, s.model, s.rows, s.concurrency)].append(s)
    out = []
    for (server, model, rows, conc), group in groups.items():
        out.append({
            "server": server, "model": model, "rows": rows, "concurrency": conc,
            "rps": _median(group, "rps"), "p50_ms": _median(group, "p50_ms"),
            "p99_ms": _median(group, "p99_ms"), "rss_mb": max(s.rss_mb for s in group),
            "errors": sum(s.result.errors for s in group), "rounds": len(group),
        })  # fmt: skip
    _add_ratios(out)
    return out


def _add_ratios(recs: list[dict[str, Any]]) -> None:
    index = {(r["server"], r["model"], r["rows"], r["concurrency"]): r for r in recs}
    for r in recs:
        ratios: dict[str, float] = {}
        for peer in PEERS if r["server"] in OURS else ():
            other = index.get((peer, r["model"], r["rows"], r["concurrency"]))
            if other and other["rps"] > 0 and r["p50_ms"] > 0:
                ratios[f"rps_vs_{peer}"] = r["rps"] / other["rps"]
                ratios[f"p50_vs_{peer}"] = r["p50_ms"] / other["p50_ms"]
        r["ratios"] = ratios


def loadgen_share(samples: list[Sample]) -> float:
    """The generator's CPU time over the wall time it ran: the share of one core it took."""
    wall = sum(s.result.duration_s + s.result.warmup_s for s in samples)
    return sum(s.result.loadgen_cpu_s for s in samples) / wall if wall else 0.0


def build(
    samples: list[Sample], models: dict[str, Path], settings: Any, machine: dict[str, Any]
) -> dict[str, Any]:
    recs = records(samples)
    share = loadgen_share(samples)
    return {
        "machine": {**machine, "load_average_at_end": load_average()},
        "note": f"{LOADGEN_NOTE} It used {share:.0%} of one core on average.",
        "loadgen_core_share": share,
        "conditions": {
            "rounds": settings.rounds,
            "duration_s": settings.duration_s,
            "warmup_s": settings.warmup_s,
            "rows": list(settings.rows),
            "concurrency": list(settings.concurrency),
            "quick": settings.quick,
            "models": {name: _model_info(path) for name, path in models.items()},
        },
        "records": recs,
        "targets": evaluate(recs),
        "raw": [_raw(s) for s in samples],
    }


def _raw(sample: Sample) -> dict[str, Any]:
    fields = {k: v for k, v in vars(sample).items() if k != "result"}
    return {**fields, **vars(sample.result)}


def _model_info(path: Path) -> dict[str, Any]:
    import joblib

    pipeline = joblib.load(path / "model.joblib")
    params = pipeline.named_steps["model"].get_params()
    keep = ("n_estimators", "max_depth", "C")
    return {"dir": str(path), **{k: params[k] for k in keep if k in params}}


def write_json(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=1) + "\n")


def _ratio(r: dict[str, Any], key: str) -> str:
    value = r["ratios"].get(key)
    return "" if value is None else f"{value:.2f}x"


def print_table(result: dict[str, Any], console: Console) -> None:
    table = Table(title="v2 REST, closed loop: medians over rounds", caption=result["note"])
    for col in ("model", "rows", "conc", "server", "req/s", "p50 ms", "p99 ms", "RSS MiB",
                "req/s vs KServe", "req/s vs MLServer"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("model", "server") else "right")
    for r in sorted(result["records"], key=lambda r: (r["model"], r["rows"], r["concurrency"])):
        table.add_row(r["model"], str(r["rows"]), str(r["concurrency"]), r["server"],
                      f"{r['rps']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
                      f"{r['rss_mb']:.0f}", _ratio(r, "rps_vs_kserve-sklearn"),
                      _ratio(r, "rps_vs_mlserver"))  # fmt: skip
    console.print(table)
    for t in result["targets"]:
        mark = "[green]met[/]" if t["met"] else "[red]missed[/]"
        console.print(f"{mark}  {t['target']}: {t['measured']}")

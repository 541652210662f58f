"""Benchmark results: medians over rounds, ratios ours/peer, targets, JSON.

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

from loadtest.environment import load_average
from loadtest.loadgen import LoadResult
from loadtest.targets import evaluate
from predictor.manifest import read as read_manifest

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
        out.append(
            {
                "server": server,
                "model": model,
                "rows": rows,
                "concurrency": conc,
                "rps": _median(group, "rps"),
                "p50_ms": _median(group, "p50_ms"),
                "p99_ms": _median(group, "p99_ms"),
                "rss_mb": max(s.rss_mb for s in group),
                "rounds": len(group),
                **_error_counts(group),
            }
        )
    _add_ratios(out)
    return out


def _error_counts(group: list[Sample]) -> dict[str, Any]:
    """Requests over all rounds; errors (wrong status or failed body check) and the last one."""
    last = [s.result.last_error for s in group if s.result.last_error]
    return {
        "requests": sum(s.result.requests for s in group),
        "errors": sum(s.result.errors for s in group),
        "body_errors": sum(s.result.body_errors for s in group),
        "last_error": last[-1] if last else "",
    }


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
    fitted = read_manifest(path).model_version == "bench"
    source = "fitted on Cleveland by the benchmark" if fitted else "the trained export"
    return {"dir": str(path), "source": source, **{k: params[k] for k in keep if k in params}}


def describe_model(path: Path) -> str:
    """One line: where the model comes from and its main parameters."""
    info = _model_info(path)
    params = ", ".join(f"{k}={v}" for k, v in info.items() if k not in ("dir", "source"))
    return f"{info['source']} ({info['dir']}): {params}"


def write_json(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=1) + "\n")

"""The targets for the path users call: the transformer in front of the predictor.

Judged at the reference conditions, concurrency 8, on each of RF and LR with
1-row and 64-row requests (a target is met when every one of those points is):

- the chain with the gRPC hop serves >= 0.6x the requests/s of the predictor alone;
- the chain with the REST hop serves >= 0.8x the chain with the gRPC hop;
- in either chain, the transformer's CPU ms per request are <= 1.5x the predictor's.

As for the peer targets, a point counts only when every system in it was
measured with no request error (else ``not measured`` or ``failed``, with
the reason), and CPU figures are needed for the third.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loadtest.targets import Record, find, problem

CONCURRENCY = 8
POINTS = (("RF", 1), ("RF", 64), ("LR", 1), ("LR", 64))
HOPS = {"chain-grpc": "gRPC", "chain-rest": "REST"}


@dataclass(frozen=True)
class Case:
    """One point of a target: its systems' records and how to read the value from them."""

    label: str
    systems: dict[str, Record | None]
    value: Callable[[dict[str, Record]], tuple[float, str] | None]


def judge(target: str, cases: list[Case], ok: Callable[[float], bool]) -> Record:
    """``met`` when every case was measured cleanly and its value is ``ok``."""
    measured, reasons, statuses = [], [], set()
    for case in cases:
        trouble = problem(case.systems)
        found = None if trouble else case.value({k: v for k, v in case.systems.items() if v})
        if trouble or found is None:
            status, reason = trouble or ("not measured", "no CPU figures")
            statuses.add(status)
            reasons.append(f"{case.label}: {reason}")
            continue
        value, detail = found
        statuses.add("met" if ok(value) else "missed")
        measured.append(f"{case.label} {value:.2f}x ({detail})")
    order = ("failed", "not measured", "missed", "met")
    status = next((s for s in order if s in statuses), "not measured")
    return {
        "target": target,
        "status": status,
        "met": status == "met",
        "measured": ", ".join(measured),
        "reason": "; ".join(reasons) if reasons else "",
    }


def _rps_ratio(top: str, bottom: str) -> Callable[[dict[str, Record]], tuple[float, str]]:
    def value(found: dict[str, Record]) -> tuple[float, str]:
        a, b = found[top]["rps"], found[bottom]["rps"]
        return a / b, f"{a:.0f} vs {b:.0f} req/s"

    return value


def _cpu_ratio(found: dict[str, Record]) -> tuple[float, str] | None:
    (chain,) = found.values()
    cpu = chain.get("cpu_ms", {})
    if not {"transformer", "predictor"} <= cpu.keys() or cpu["predictor"] <= 0:
        return None
    t, p = cpu["transformer"], cpu["predictor"]
    return t / p, f"{t:.2f} vs {p:.2f} CPU ms/request"


def _cases(
    recs: list[Record],
    systems: tuple[str, ...],
    value: Callable[[dict[str, Record]], tuple[float, str] | None],
    suffix: str = "",
) -> list[Case]:
    return [
        Case(
            f"{model} {rows}-row{suffix}",
            {s: find(recs, s, model, rows, CONCURRENCY) for s in systems},
            value,
        )
        for model, rows in POINTS
    ]


def evaluate(recs: list[Record]) -> list[Record]:
    """The three targets of the transformer -> predictor path, each with its points."""
    c = f"c{CONCURRENCY}"
    cpu_cases = [
        case
        for chain, hop in HOPS.items()
        for case in _cases(recs, (chain,), _cpu_ratio, f" {hop}")
    ]
    return [
        judge(
            f"{c}: transformer->predictor (gRPC) req/s >= 0.6x our predictor alone",
            _cases(recs, ("chain-grpc", "ours"), _rps_ratio("chain-grpc", "ours")),
            lambda v: v >= 0.6,
        ),
        judge(
            f"{c}: transformer->predictor (REST) req/s >= 0.8x the gRPC chain",
            _cases(recs, ("chain-rest", "chain-grpc"), _rps_ratio("chain-rest", "chain-grpc")),
            lambda v: v >= 0.8,
        ),
        judge(
            f"{c}: transformer CPU ms/request <= 1.5x the predictor's in the same chain",
            cpu_cases,
            lambda v: v <= 1.5,
        ),
    ]

"""The issue's performance targets, checked against benchmark records.

RF, v2 REST, concurrency 8, for single-row and 64-row requests: our
predictor's throughput >= 5x both peers and its p50 <= 0.25x theirs; our
transformer -> predictor chain over gRPC >= 3x the stock KServe predictor.
LR: our predictor no slower than either peer (throughput ratio >= 1), at
every measured concurrency and request size.

A comparison counts only when every system in it was measured and answered
every request correctly: each target's ``status`` is ``met``, ``missed``,
``not measured`` (a system has no record or completed no request) or
``failed`` (a system had request errors: a wrong status or an answer that
failed the body check), with the ``reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PEERS = {"kserve-sklearn": "KServe sklearn", "mlserver": "MLServer"}
Record = dict[str, Any]


def _find(recs: list[Record], server: str, model: str, rows: int, conc: int) -> Record | None:
    for r in recs:
        if (r["server"], r["model"], r["rows"], r["concurrency"]) == (server, model, rows, conc):
            return r
    return None


def _problem(systems: dict[str, Record | None]) -> tuple[str, str] | None:
    """``(status, reason)`` when a system is missing or had errors, else None."""
    missing = [name for name, r in systems.items() if r is None or not r.get("requests", 1)]
    if missing:
        return "not measured", f"no completed requests from {', '.join(missing)}"
    failed = [
        f"{name} {r['errors']} of {r.get('requests', '?')} requests failed"
        + (f" (last: {r['last_error'][:120]})" if r.get("last_error") else "")
        for name, r in systems.items()
        if r and r.get("errors", 0)
    ]
    return ("failed", "; ".join(failed)) if failed else None


def compare(
    target: str,
    ours: tuple[str, Record | None],
    peers: dict[str, Record | None],
    metric: str,
    ok: Callable[[float], bool],
) -> Record:
    """One target: ``metric`` ratio of ``ours`` against each peer, judged by ``ok``."""
    problem = _problem({ours[0]: ours[1], **peers})
    if problem or ours[1] is None:
        status, reason = problem or ("not measured", f"no record for {ours[0]}")
        return {"target": target, "status": status, "met": False, "measured": "", "reason": reason}
    values = {PEERS[p]: ours[1]["ratios"][f"{metric}_vs_{p}"] for p in peers}
    met = all(ok(v) for v in values.values())
    measured = ", ".join(f"{k} {v:.2f}x" for k, v in values.items())
    status = "met" if met else "missed"
    return {"target": target, "status": status, "met": met, "measured": measured, "reason": ""}


def _rf(recs: list[Record], rows: int) -> list[Record]:
    ours = ("ours", _find(recs, "ours", "RF", rows, 8))
    chain = ("chain-grpc", _find(recs, "chain-grpc", "RF", rows, 8))
    peers = {p: _find(recs, p, "RF", rows, 8) for p in PEERS}
    kserve = {"kserve-sklearn": peers["kserve-sklearn"]}
    head = f"RF {rows}-row c8:"
    return [
        compare(
            f"{head} our predictor req/s >= 5x both peers", ours, peers, "rps", lambda v: v >= 5
        ),
        compare(
            f"{head} our predictor p50 <= 0.25x both peers", ours, peers, "p50", lambda v: v <= 0.25
        ),
        compare(
            f"{head} transformer->predictor (gRPC) req/s >= 3x stock KServe",
            chain,
            kserve,
            "rps",
            lambda v: v >= 3,
        ),
    ]


def _lr(recs: list[Record]) -> list[Record]:
    points = sorted({(r["rows"], r["concurrency"]) for r in recs if r["model"] == "LR"})
    out = []
    for rows, conc in points:
        ours = ("ours", _find(recs, "ours", "LR", rows, conc))
        peers = {p: _find(recs, p, "LR", rows, conc) for p in PEERS}
        target = f"LR {rows}-row c{conc}: our predictor req/s >= 1x both"
        out.append(compare(target, ours, peers, "rps", lambda v: v >= 1))
    return out


def evaluate(recs: list[Record]) -> list[Record]:
    """Each target with its status, measured ratios and, unless measured cleanly, the reason."""
    rows = sorted({r["rows"] for r in recs} or {1, 64})
    return [t for n in rows for t in _rf(recs, n)] + _lr(recs)


def target_detail(target: dict[str, Any]) -> str:
    """The measured ratios, or why there are none."""
    return str(target["measured"] or target["reason"])

"""The issue's performance targets, checked against benchmark records.

RF, v2 REST, concurrency 8, for single-row and 64-row requests: our
predictor's throughput >= 5x both peers and its p50 <= 0.25x theirs; our
transformer -> predictor chain over gRPC >= 3x the stock KServe predictor.
LR: our predictor no slower than either peer (throughput ratio >= 1), at
every measured concurrency and request size.
"""

from __future__ import annotations

from typing import Any

PEERS = {"kserve-sklearn": "KServe sklearn", "mlserver": "MLServer"}


def _find(recs: list[dict[str, Any]], server: str, model: str, rows: int, conc: int) -> Any:
    for r in recs:
        if (r["server"], r["model"], r["rows"], r["concurrency"]) == (server, model, rows, conc):
            return r
    return None


def _check(target: str, values: dict[str, float], ok: bool) -> dict[str, Any]:
    measured = ", ".join(f"{k} {v:.2f}x" for k, v in values.items())
    return {"target": target, "measured": measured, "met": bool(values) and ok}


def _ratios(rec: Any, metric: str) -> dict[str, float]:
    if rec is None:
        return {}
    return {label: rec["ratios"][f"{metric}_vs_{peer}"] for peer, label in PEERS.items()
            if f"{metric}_vs_{peer}" in rec["ratios"]}  # fmt: skip


def _rf(recs: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    ours = _find(recs, "ours", "RF", rows, 8)
    chain = _find(recs, "chain-grpc", "RF", rows, 8)
    rps, p50 = _ratios(ours, "rps"), _ratios(ours, "p50")
    hop = {"vs KServe sklearn": chain["ratios"]["rps_vs_kserve-sklearn"]} if chain else {}
    return [
        _check(f"RF {rows}-row c8: our predictor req/s >= 5x both peers", rps,
               all(v >= 5 for v in rps.values())),
        _check(f"RF {rows}-row c8: our predictor p50 <= 0.25x both peers", p50,
               all(v <= 0.25 for v in p50.values())),
        _check(f"RF {rows}-row c8: transformer->predictor (gRPC) req/s >= 3x stock KServe", hop,
               all(v >= 3 for v in hop.values())),
    ]  # fmt: skip


def _lr(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in sorted(recs, key=lambda r: (r["rows"], r["concurrency"])):
        if r["server"] == "ours" and r["model"] == "LR":
            rps = _ratios(r, "rps")
            target = f"LR {r['rows']}-row c{r['concurrency']}: our predictor req/s >= 1x both"
            out.append(_check(target, rps, all(v >= 1 for v in rps.values())))
    return out


def evaluate(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target with its measured ratios and whether it was met."""
    rows = sorted({r["rows"] for r in recs})
    return [t for n in rows for t in _rf(recs, n)] + _lr(recs)

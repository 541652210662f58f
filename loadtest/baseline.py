"""The no-regression target: this run's rows against the previous run's.

The previous run is the ``latest.json`` that a run finds in its output folder
before overwriting it (or ``--baseline FILE``). Judged: every row of our
systems (the predictor alone and both chains) at concurrency 8, the
reference condition, in both runs: the target is met when none serves more
than 5% fewer requests per second than before. The machine is shared, so
the detail also gives the peers' median change over the same rows: unchanged
code, hence a yardstick of how much faster or slower the machine itself was.
The two runs must have been made on the same kind of machine (CPU model and
cores) under the same conditions (models, request sizes, quick or full);
otherwise the target reads ``not measured``, with the reason.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest.targets import PEERS, Record, find, problem

OURS = ("ours", "chain-grpc", "chain-rest")
CONCURRENCY = 8
MAX_LOSS = 0.05
TARGET = (
    f"no row of ours (c{CONCURRENCY}) loses more than {MAX_LOSS:.0%} req/s against the previous run"
)


@dataclass(frozen=True)
class Previous:
    """A previous run's JSON and where it was read from."""

    path: Path
    data: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        machine = self.data.get("machine", {})
        keys = ("started_at", "code", "load_average_at_start")
        return {"path": str(self.path), **{k: machine[k] for k in keys if k in machine}}


def load(path: Path) -> Previous | None:
    """The run stored in ``path``, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return Previous(path, data) if isinstance(data, dict) and "records" in data else None


def _comparable(conditions: dict[str, Any]) -> dict[str, Any]:
    models = {
        name: {k: v for k, v in info.items() if k != "dir"}
        for name, info in conditions.get("models", {}).items()
    }
    return {"quick": conditions.get("quick"), "rows": conditions.get("rows"), "models": models}


def _result(status: str, measured: str = "", reason: str = "") -> Record:
    met = status == "met"
    return {"target": TARGET, "status": status, "met": met, "measured": measured, "reason": reason}


def _changes(recs: list[Record], old: list[Record], servers: tuple[str, ...]) -> dict[str, float]:
    """``{"chain-rest LR 64-row": -0.07, ...}``: relative req/s change of each shared row."""
    out = {}
    for r in recs:
        if r["server"] in servers and r["concurrency"] == CONCURRENCY:
            before = find(old, r["server"], r["model"], r["rows"], CONCURRENCY)
            if before and before["rps"] > 0:
                label = f"{r['server']} {r['model']} {r['rows']}-row"
                out[label] = r["rps"] / before["rps"] - 1
    return out


def _machine(machine: dict[str, Any]) -> str:
    return f"{machine.get('cores', '?')} cores, {machine.get('cpu', '?')}"


def no_regression(
    recs: list[Record],
    conditions: dict[str, Any],
    machine: dict[str, Any],
    previous: Previous | None,
) -> Record:
    """The target's status, the worst rows and the peers' change, or why it was not judged."""
    if previous is None:
        return _result("not measured", reason="no previous run to compare with")
    before = _machine(previous.data.get("machine", {}))
    if before != _machine(machine):
        why = f"the previous run ({previous.path}) ran on another machine ({before})"
        return _result("not measured", reason=why)
    if _comparable(conditions) != _comparable(previous.data.get("conditions", {})):
        why = f"the previous run ({previous.path}) was made under other conditions"
        return _result("not measured", reason=why)
    current = {
        f"{r['server']} {r['model']} {r['rows']}-row": r
        for r in recs
        if r["server"] in OURS and r["concurrency"] == CONCURRENCY
    }
    trouble = problem(current)
    if trouble:
        return _result(*trouble)
    changes = _changes(recs, previous.data["records"], OURS)
    if not changes:
        return _result("not measured", reason="no row of ours in both runs")
    losers = sorted((v, k) for k, v in changes.items() if v < -MAX_LOSS)
    worst_value, worst = min((v, k) for k, v in changes.items())
    peers = list(_changes(recs, previous.data["records"], tuple(PEERS)).values())
    yardstick = f"; peers' median change {statistics.median(peers):+.1%}" if peers else ""
    lost = ", ".join(f"{k} {v:+.1%}" for v, k in losers)
    measured = (
        f"{len(losers)} of {len(changes)} rows lost more than {MAX_LOSS:.0%}"
        + (f" ({lost})" if losers else f" (worst: {worst} {worst_value:+.1%})")
        + yardstick
    )
    return _result("missed" if losers else "met", measured)

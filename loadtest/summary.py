"""``python -m loadtest.summary [latest.json]``: the performance page's results block (Markdown).

Rows: concurrency 8 (the targets' condition) for every model and request
size, with CPU ms per request per process, plus the targets with their
measured values, from the benchmark JSON; ``--docs PAGE`` writes the block
into the page between its markers (:mod:`loadtest.docs`). Also the console
table the benchmark prints (:func:`print_table`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loadtest import docs
from loadtest.targets import target_detail

NAMES = {
    "ours": "**ours**: predictor (ONNX Runtime fast path)",
    "chain-grpc": "**ours**: transformer -> predictor, gRPC hop",
    "chain-rest": "**ours**: transformer -> predictor, REST hop",
    "kserve-sklearn": "KServe sklearn server (stock, reproduced)",
    "mlserver": "MLServer 1.7.1 + mlserver-sklearn",
}
ORDER = tuple(NAMES)


def _ratio(r: dict[str, Any], peer: str) -> str:
    value = r["ratios"].get(f"rps_vs_{peer}")
    return "" if value is None else f"{value:.1f}x"


#: How each role's share of CPU is marked in a chain's figure.
ROLE_MARKS = {"transformer": "T", "predictor": "P"}


def cpu_cell(r: dict[str, Any]) -> str:
    """``0.62`` for one server, ``1.52 T + 0.61 P`` for a chain, blank when not measured."""
    cpu = r.get("cpu_ms") or {}
    if len(cpu) > 1:
        parts = [f"{cpu[role]:.2f} {mark}" for role, mark in ROLE_MARKS.items() if role in cpu]
        return " + ".join(parts)
    return f"{r['cpu_ms_total']:.2f}" if cpu else ""


def table(result: dict[str, Any], concurrency: int = 8) -> str:
    lines = [
        "| model | rows/request | server | req/s | p50 ms | p99 ms | CPU ms/request | RSS MiB"
        " | errors | req/s vs KServe | req/s vs MLServer |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    recs = [r for r in result["records"] if r["concurrency"] == concurrency]
    recs.sort(key=lambda r: (r["model"] != "RF", r["rows"], ORDER.index(r["server"])))
    for r in recs:
        lines.append(
            f"| {r['model']} | {r['rows']} | {NAMES[r['server']]} | {r['rps']:.0f}"
            f" | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {cpu_cell(r)} | {r['rss_mb']:.0f}"
            f" | {r['errors']}"
            f" | {_ratio(r, 'kserve-sklearn')} | {_ratio(r, 'mlserver')} |"
        )
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> str:
    return "\n".join(
        f"- {t['status'] if t['met'] else '**' + t['status'] + '**'}: {t['target']}"
        f" ({target_detail(t)})"
        for t in result["targets"]
    )


def models(conditions: dict[str, Any]) -> str:
    """``RF: 100 trees, max_depth 6 (fitted on Cleveland by the benchmark); LR: ...``."""
    parts = []
    for name, info in conditions["models"].items():
        params = [
            f"{info['n_estimators']} trees" if k == "n_estimators" else f"{k} {v}"
            for k, v in info.items()
            if k not in ("dir", "source")
        ]
        parts.append(f"{name}: {', '.join(params)} ({info.get('source', '')})")
    return "; ".join(parts)


def _console_ratio(r: dict[str, Any], key: str) -> str:
    value = r["ratios"].get(key)
    return "" if value is None else f"{value:.2f}x"


def print_table(result: dict[str, Any], console: Console) -> None:
    """The console table of every record and the targets' verdicts."""
    table = Table(title="v2 REST, closed loop: medians over rounds", caption=result["note"])
    for col in (
        "model",
        "rows",
        "conc",
        "server",
        "req/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/req",
        "RSS MiB",
        "errors",
        "req/s vs KServe",
        "req/s vs MLServer",
    ):
        table.add_column(col, justify="left" if col in ("model", "server") else "right")
    for r in sorted(result["records"], key=lambda r: (r["model"], r["rows"], r["concurrency"])):
        errors = f"[red]{r['errors']}[/]" if r["errors"] else "0"
        table.add_row(
            r["model"],
            str(r["rows"]),
            str(r["concurrency"]),
            r["server"],
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            cpu_cell(r),
            f"{r['rss_mb']:.0f}",
            errors,
            _console_ratio(r, "rps_vs_kserve-sklearn"),
            _console_ratio(r, "rps_vs_mlserver"),
        )
    console.print(table)
    for t in result["targets"]:
        console.print(f"{STATUS_MARKUP[t['status']]}  {t['target']}: {target_detail(t)}")


STATUS_MARKUP = {
    "met": "[green]met[/]",
    "missed": "[red]missed[/]",
    "not measured": "[yellow]not measured[/]",
    "failed": "[red]failed[/]",
}


def _load(result: dict[str, Any]) -> str:
    machine = result["machine"]
    start = machine.get("load_average_at_start", ["?"])[0]
    end = machine.get("load_average_at_end", ["?"])[0]
    return f"load average {start} when the run started, {end} at its end"


def markdown(result: dict[str, Any]) -> str:
    """The results block: conditions, the concurrency-8 table, CPU legend, targets."""
    cond = result["conditions"]
    machine = result["machine"]
    code = f" Code: {machine['code']}." if machine.get("code") else ""
    base = result.get("baseline") or {}
    since = f" Previous run: {base.get('started_at', base.get('path', '?'))}." if base else ""
    return "\n".join(
        [
            f"Machine: {machine['summary']}, {_load(result)} (the machine is shared)."
            f" {cond['rounds']} interleaved rounds of {cond['duration_s']:g} s per point,"
            f" medians; concurrency 8. {result['note']}{code}{since}",
            "",
            f"Models: {models(cond)}.",
            "",
            table(result),
            "",
            "CPU ms/request: CPU time (user + system) the server's processes spent during the"
            " recorded requests, per request; for a chain, the transformer (T) and the predictor"
            " (P) processes; for MLServer, its main and worker processes together.",
            "",
            targets(result),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=Path("reports/bench/latest.json"))
    parser.add_argument("--docs", type=Path, help="write the block into this Markdown page")
    args = parser.parse_args(argv)
    block = markdown(json.loads(args.path.read_text()))
    if args.docs:
        docs.update(args.docs, block)
        print(f"updated the results block of {args.docs}")
    else:
        print(block)


if __name__ == "__main__":
    main()

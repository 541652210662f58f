"""``python -m loadtest.summary [latest.json]``: the README's performance table (Markdown).

Rows: concurrency 8 (the targets' condition) for every model and request
size, plus the targets with their measured ratios, from the benchmark JSON.
Also the console table the benchmark prints (:func:`print_table`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

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


def table(result: dict[str, Any], concurrency: int = 8) -> str:
    lines = [
        "| model | rows/request | server | req/s | p50 ms | p99 ms | RSS MiB | errors"
        " | req/s vs KServe | req/s vs MLServer |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    recs = [r for r in result["records"] if r["concurrency"] == concurrency]
    recs.sort(key=lambda r: (r["model"] != "RF", r["rows"], ORDER.index(r["server"])))
    for r in recs:
        lines.append(
            f"| {r['model']} | {r['rows']} | {NAMES[r['server']]} | {r['rps']:.0f}"
            f" | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['rss_mb']:.0f} | {r['errors']}"
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=Path("reports/bench/latest.json"))
    result = json.loads(parser.parse_args(argv).path.read_text())
    cond = result["conditions"]
    machine = result["machine"]
    load = machine.get("load_average_at_start", ["?"])[0]
    print(
        f"Machine: {machine['summary']}, load average {load} when the run started (the"
        f" machine is shared). {cond['rounds']} interleaved rounds of {cond['duration_s']:g} s"
        f" per point, medians; concurrency 8. {result['note']}"
    )
    print(f"Models: {models(cond)}.\n")
    print(table(result))
    print()
    print(targets(result))


if __name__ == "__main__":
    main()

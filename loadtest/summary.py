"""``python -m loadtest.summary [latest.json]``: the README's performance table (Markdown).

Rows: concurrency 8 (the targets' condition) for every model and request
size, plus the targets with their measured ratios, from the benchmark JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        "| model | rows/request | server | req/s | p50 ms | p99 ms | RSS MiB"
        " | req/s vs KServe | req/s vs MLServer |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    recs = [r for r in result["records"] if r["concurrency"] == concurrency]
    recs.sort(key=lambda r: (r["model"] != "RF", r["rows"], ORDER.index(r["server"])))
    for r in recs:
        lines.append(
            f"| {r['model']} | {r['rows']} | {NAMES[r['server']]} | {r['rps']:.0f}"
            f" | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['rss_mb']:.0f}"
            f" | {_ratio(r, 'kserve-sklearn')} | {_ratio(r, 'mlserver')} |"
        )
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> str:
    return "\n".join(
        f"- {'met' if t['met'] else '**missed**'}: {t['target']} ({t['measured']})"
        for t in result["targets"]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=Path("reports/bench/latest.json"))
    result = json.loads(parser.parse_args(argv).path.read_text())
    cond = result["conditions"]
    machine = result["machine"]
    load = machine.get("load_average_at_start", ["?"])[0]
    print(f"Machine: {machine['summary']}, load average {load} when the run started (the"
          f" machine is shared). {cond['rounds']} interleaved rounds of {cond['duration_s']:g} s"
          f" per point, medians; concurrency 8. {result['note']}\n")  # fmt: skip
    print(table(result))
    print()
    print(targets(result))


if __name__ == "__main__":
    main()

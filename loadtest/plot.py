"""The benchmark plot: throughput per system, one panel per model x request size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ORDER = ("ours", "chain-grpc", "chain-rest", "kserve-sklearn", "mlserver")
COLOURS = dict(zip(ORDER, ("#1b7837", "#5aae61", "#a6dba0", "#762a83", "#c2a5cf"), strict=True))


def _panel(ax: Any, recs: list[dict[str, Any]], title: str) -> None:
    concs = sorted({r["concurrency"] for r in recs})
    width = 0.8 / len(ORDER)
    for i, server in enumerate(ORDER):
        by_conc = {r["concurrency"]: r for r in recs if r["server"] == server}
        xs = [c + (i - len(ORDER) / 2 + 0.5) * width for c in range(len(concs))]
        ys = [by_conc[c]["rps"] if c in by_conc else 0 for c in concs]
        bars = ax.bar(xs, ys, width, label=server, color=COLOURS[server])
        ax.bar_label(bars, labels=[f"{y:.0f}" for y in ys], fontsize=6, rotation=90, padding=2)
    ax.set_xticks(range(len(concs)), [f"concurrency {c}" for c in concs])
    ax.set_yscale("log")
    ax.set_ylim(bottom=min(r["rps"] for r in recs) / 2)
    ax.set_ylabel("requests/s (median of rounds)")
    ax.set_title(title)


def plot(result: dict[str, Any], path: Path) -> Path:
    recs = result["records"]
    panels = sorted({(r["model"], r["rows"]) for r in recs}, key=lambda p: (p[0] != "RF", p[1]))
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 4.2 * rows), squeeze=False)
    for ax, (model, n) in zip(axes.flat, panels, strict=False):
        subset = [r for r in recs if r["model"] == model and r["rows"] == n]
        trees = result["conditions"]["models"].get(model, {}).get("n_estimators")
        name = f"{model} ({trees} trees)" if trees else model
        _panel(ax, subset, f"{name}, {n}-row v2 REST requests")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.965),
        fontsize=8,
        ncols=len(ORDER),
        frameon=False,
    )
    machine = result["machine"]["summary"]
    fig.suptitle(f"heart-kserve vs KServe sklearn server vs MLServer: {machine}", fontsize=10)
    fig.text(0.5, 0.005, result["note"], ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 0.94))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

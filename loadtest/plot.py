"""The benchmark plot: throughput per system, one panel per model x request size,
and CPU ms per request at concurrency 8 (a chain split into transformer and predictor).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

ORDER = ("ours", "chain-grpc", "chain-rest", "kserve-sklearn", "mlserver")
COLOURS = dict(zip(ORDER, ("#1b7837", "#5aae61", "#a6dba0", "#762a83", "#c2a5cf"), strict=True))
#: The predictor's share of a chain's CPU bar: hatched over the chain's colour.
PREDICTOR_HATCH = "////"
DPI = 120
#: Headroom kept above the highest bar label, as a share of the axes height.
LABEL_MARGIN = 0.03


def plain(value: float, _pos: object = None) -> str:
    """``20``, ``1,000``, ``0.5``: tick labels as plain numbers, not powers of ten."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _log_axis(ax: Any) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(plain))
    ax.yaxis.set_minor_formatter(NullFormatter())


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
    _log_axis(ax)
    ax.set_ylim(bottom=min(r["rps"] for r in recs) / 2)
    ax.set_ylabel("requests/s (median of rounds)")
    ax.set_title(title)


def _cpu_panel(ax: Any, recs: list[dict[str, Any]], points: list[tuple[str, int]]) -> None:
    """CPU ms per request at concurrency 8; a chain's bar stacks transformer over predictor."""
    width = 0.8 / len(ORDER)
    for i, server in enumerate(ORDER):
        xs, bottoms, tops = [], [], []
        for j, (model, rows) in enumerate(points):
            r = next(
                (
                    r
                    for r in recs
                    if (r["server"], r["model"], r["rows"], r["concurrency"])
                    == (server, model, rows, 8)
                ),
                None,
            )
            cpu = (r or {}).get("cpu_ms") or {}
            if not cpu:
                continue
            xs.append(j + (i - len(ORDER) / 2 + 0.5) * width)
            bottoms.append(cpu.get("predictor", 0.0) if "transformer" in cpu else 0.0)
            tops.append(sum(cpu.values()))
        colour = COLOURS[server]
        if any(bottoms):
            ax.bar(xs, bottoms, width, color=colour, hatch=PREDICTOR_HATCH, edgecolor="white")
            ax.bar(
                xs,
                [t - b for t, b in zip(tops, bottoms, strict=True)],
                width,
                bottom=bottoms,
                color=colour,
            )
        else:
            ax.bar(xs, tops, width, color=colour)
        labels = ax.bar(xs, tops, width, fill=False, linewidth=0)
        ax.bar_label(labels, labels=[f"{t:.2f}" for t in tops], fontsize=6, rotation=90, padding=2)
    ax.set_xticks(range(len(points)), [f"{m}, {n}-row, concurrency 8" for m, n in points])
    ax.set_ylabel("CPU ms per request (all the system's processes)")
    ax.set_title(
        "CPU time per request; a chain's bar: predictor (hatched, bottom) + transformer (top)"
    )


def _fit_labels(fig: Any, axes: list[Any]) -> None:
    """Raise each axes' top until every bar label sits inside it (log or linear scale)."""
    for _ in range(4):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        changed = False
        for ax in axes:
            box = ax.get_window_extent(renderer)
            tops = [t.get_window_extent(renderer).y1 for t in ax.texts if t.get_text()]
            if not tops:
                continue
            need = (max(tops) - box.y0) / box.height + LABEL_MARGIN  # axes fractions
            if need <= 1:
                continue
            lo, hi = ax.get_ylim()
            if ax.get_yscale() == "log":
                span = math.log10(hi / lo)
                ax.set_ylim(lo, lo * 10 ** (span * need))
            else:
                ax.set_ylim(lo, lo + (hi - lo) * need)
            changed = True
        if not changed:
            return


def plot(result: dict[str, Any], path: Path) -> Path:
    fig = figure(result)
    fig.savefig(path, dpi=DPI)
    close(fig)
    return path


def close(fig: Any) -> None:
    plt.close(fig)


def figure(result: dict[str, Any]) -> Any:
    """The whole figure, labels fitted inside their axes (the caller saves and closes it)."""
    recs = result["records"]
    panels = sorted({(r["model"], r["rows"]) for r in recs}, key=lambda p: (p[0] != "RF", p[1]))
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    with_cpu = any(r.get("cpu_ms") and r["concurrency"] == 8 for r in recs)
    fig = plt.figure(figsize=(12, 4.2 * (rows + with_cpu)))
    grid = fig.add_gridspec(rows + with_cpu, cols)
    axes = [fig.add_subplot(grid[i // cols, i % cols]) for i in range(len(panels))]
    for ax, (model, n) in zip(axes, panels, strict=True):
        subset = [r for r in recs if r["model"] == model and r["rows"] == n]
        trees = result["conditions"]["models"].get(model, {}).get("n_estimators")
        name = f"{model} ({trees} trees)" if trees else model
        _panel(ax, subset, f"{name}, {n}-row v2 REST requests")
    if with_cpu:
        cpu_ax = fig.add_subplot(grid[rows, :])
        _cpu_panel(cpu_ax, recs, panels)
        axes.append(cpu_ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.955),
        fontsize=8,
        ncols=len(ORDER),
        frameon=False,
    )
    machine = result["machine"]
    load = [machine.get(f"load_average_at_{k}", ["?"])[0] for k in ("start", "end")]
    fig.suptitle(
        f"heart-kserve vs KServe sklearn server vs MLServer\n{machine['summary']};"
        f" load average {load[0]} at the start, {load[1]} at the end (a shared machine)",
        fontsize=10,
    )
    fig.text(0.5, 0.005, result["note"], ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 0.93))
    fig.set_dpi(DPI)
    _fit_labels(fig, axes)
    return fig

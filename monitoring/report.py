"""``make monitor-report``: the dashboard's main panels as PNG, from Prometheus ``query_range``.

By default it runs the drift scenario on this machine: the predictor and the
transformer on loopback (the model in ``--model_dir`` when it carries a
reference profile, else a small forest fitted on Cleveland), Prometheus
scraping them every second with the shipped rules, then three phases of
traffic (:mod:`monitoring.traffic`: Cleveland-like, ``age`` + 15, Hungarian),
each marked on the charts. With ``--prometheus URL`` it renders the last
``--minutes`` of an existing Prometheus instead. One PNG per main panel
(:data:`monitoring.dashboard.PANELS` with ``main``) in ``--out``.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from monitoring import dashboard, traffic
from monitoring.local import LocalServers, Prometheus

RATE = "10s"
#: Axis labels of the dashboard's units.
UNITS = {"reqps": "requests / s", "s": "seconds", "percentunit": "share", "short": ""}


@dataclass
class Run:
    """What was scraped: where, when, and the phases (name, start, end) to mark."""

    prometheus: Prometheus
    start: float
    end: float
    phases: list[tuple[str, float, float]] = field(default_factory=list)


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def render_panel(run: Run, spec: dashboard.PanelSpec, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    if spec.kind == "heatmap":
        _heatmap(run, spec, ax, fig)
    else:
        _lines(run, spec, ax)
    for name, begin, end in run.phases:
        ax.axvspan(begin - run.start, end - run.start, alpha=0.07, color="grey")
        ax.text(begin - run.start, 1.0, f" {name}", transform=ax.get_xaxis_transform(), va="top")
    ax.set_title(spec.title)
    ax.set_xlabel("seconds since the start of the run")
    ax.set_xlim(0, run.end - run.start)
    fig.tight_layout()
    path = out / f"{slug(spec.title)}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def _lines(run: Run, spec: dashboard.PanelSpec, ax: Any) -> None:
    from matplotlib import colormaps

    ax.set_prop_cycle(color=[colormaps["tab20"](i) for i in range(20)])
    for query in spec.queries:
        expr = dashboard.for_prometheus(query.expr, RATE)
        for series in run.prometheus.query_range(expr, run.start, run.end, 1):
            values = np.array(series["values"], dtype=float)
            ax.plot(
                values[:, 0] - run.start, values[:, 1], label=legend(query.legend, series["metric"])
            )
    if spec.threshold is not None:
        ax.axhline(spec.threshold, color="red", linestyle="--", label=f"alert > {spec.threshold}")
        ax.set_yscale("symlog", linthresh=spec.threshold)  # the threshold and PSI 8 on one axis
        ax.set_ylim(bottom=0, top=max(1.0, ax.get_ylim()[1]) * 1.5)
        ax.set_ylabel("PSI (linear below the threshold, log above)")
    else:
        ax.set_ylabel(UNITS.get(spec.unit, spec.unit))
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            fontsize=7, ncol=3 if len(handles) > 8 else 1, loc="upper left", bbox_to_anchor=(1, 1)
        )


def _heatmap(run: Run, spec: dashboard.PanelSpec, ax: Any, fig: Any) -> None:
    expr = dashboard.for_prometheus(spec.queries[0].expr, RATE)
    series = run.prometheus.query_range(expr, run.start, run.end, 1)
    # The +Inf bucket holds the rows above the last bound, up to P = 1.
    bounds = sorted(
        ((1.0 if s["metric"]["le"] == "+Inf" else float(s["metric"]["le"])), s) for s in series
    )
    bounds = [(b, s) for b, s in bounds if b <= 1.0]
    if not bounds:
        ax.text(0.5, 0.5, "no data", ha="center")
        return
    times = sorted({float(t) for _, s in bounds for t, _ in s["values"]})
    grid = np.zeros((len(bounds), len(times)))
    index = {t: i for i, t in enumerate(times)}
    for row, (_, s) in enumerate(bounds):
        for t, v in s["values"]:
            grid[row, index[float(t)]] = float(v)
    per_bucket = np.diff(np.vstack([np.zeros(len(times)), grid]), axis=0).clip(min=0)
    edges = [0.0, *[b for b, _ in bounds]]
    per_bucket /= (np.diff(edges) / 0.1)[:, None]  # a density: buckets differ in width
    t = np.array([*times, times[-1] + 1]) - run.start
    mesh = ax.pcolormesh(t, edges, per_bucket, shading="flat", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=f"rows per 0.1 of P(disease), per {RATE}")
    ax.set_ylabel("P(disease)")


def render(run: Run, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [render_panel(run, spec, out) for spec in dashboard.PANELS if spec.main]


def _model_dir(model_dir: Path, work: Path, source: str | None) -> Path:
    from predictor.manifest import ManifestError, read

    try:
        if read(model_dir).reference_profile:
            return model_dir
    except ManifestError:
        pass
    from training.data import load_site
    from training.export import write_model_dir
    from training.pipelines import build_pipeline

    print(f"{model_dir} has no reference profile: fitting a small forest on Cleveland")
    x, y = load_site("cleveland", source)
    pipeline = build_pipeline("random_forest", {"n_estimators": 50}, seed=0).fit(x, y)
    out = work / "model"
    write_model_dir(pipeline, out, 0.5, data=x, model_family="random_forest", model_version="1")
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_scenario(model_dir: Path, source: str | None, work: Path, rows: int, pace: float) -> Run:
    ports = [_free_port() for _ in range(5)]
    servers = LocalServers(
        _model_dir(model_dir, work, source),
        work / "logs",
        (ports[0], ports[1]),
        (ports[2], ports[3]),
        extra=["--drift_window_rows", "1200", "--drift_update_seconds", "1"],
    )
    targets = {"predictor": f"127.0.0.1:{ports[0]}", "transformer": f"127.0.0.1:{ports[2]}"}
    prometheus = Prometheus(work / "prometheus", targets, port=ports[4], scrape_interval="1s")
    servers.start()
    try:
        servers.wait_ready()
        prometheus.start().wait_ready()
        run = Run(prometheus, time.time(), 0.0)
        sender = traffic.Sender(f"http://127.0.0.1:{ports[2]}")
        with httpx.Client(timeout=30) as client:
            time.sleep(5)
            for seed, (name, make) in enumerate(traffic.PHASES.items()):
                begin = time.time()
                print(f"phase {name}: {rows} rows", flush=True)
                for chunk in np.array_split(make(source, rows, seed), max(1, rows // 40)):
                    sender.send(chunk, client)
                    time.sleep(pace)
                time.sleep(8)
                run.phases.append((name, begin, time.time()))
        time.sleep(3)
        run.end = time.time()
        return run
    except BaseException:
        prometheus.stop()
        raise
    finally:
        servers.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/monitoring")
    parser.add_argument("--model_dir", default="artifacts/model")
    parser.add_argument("--data_source", default="", help="UCI mirror (HEART_DATA_SOURCE)")
    parser.add_argument("--rows", type=int, default=2400, help="rows per phase")
    parser.add_argument("--pace", type=float, default=0.4, help="seconds between 40-row chunks")
    parser.add_argument("--prometheus", default="", help="render from this Prometheus instead")
    parser.add_argument("--minutes", type=float, default=15, help="with --prometheus: how far back")
    args = parser.parse_args(argv)
    if args.prometheus:
        prom = Prometheus(Path("."), {}, base_url=args.prometheus.rstrip("/"))
        now = time.time()
        run = Run(prom, now - args.minutes * 60, now)
        paths = render(run, Path(args.out))
    else:
        source = args.data_source or os.environ.get("HEART_DATA_SOURCE") or None
        with tempfile.TemporaryDirectory(prefix="heart-report-") as tmp:
            run = run_scenario(Path(args.model_dir), source, Path(tmp), args.rows, args.pace)
            try:
                paths = render(run, Path(args.out))
            finally:
                run.prometheus.stop()
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

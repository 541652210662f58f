"""``make eda``: plots and a short Markdown report of the UCI data.

Writes ``reports/eda/`` (``report.md`` + PNGs) and logs the folder to an MLflow
run ``eda``. Cleveland is required; other sites are included when present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from rich.console import Console

from training import eda_plots
from training.data import DEFAULT_CACHE, MISSING_CODED, SITES, load_site
from training.eda_plots import TARGET
from training.external import load_external
from training.tracking import TrackingSettings, configure
from transformer.contract import FEATURE_NAMES, FEATURES


@dataclass(frozen=True)
class EdaSettings:
    source: str | None = None
    cache_dir: Path = DEFAULT_CACHE
    out: Path = Path("reports/eda")
    tracking: TrackingSettings = field(default_factory=TrackingSettings)


def frames(source: str | None, cache_dir: Path) -> dict[str, pd.DataFrame]:
    """Each available site as a frame of the 13 features and ``disease``."""
    x, y = load_site("cleveland", source, cache_dir)
    found = {"cleveland": (x, y)}
    others = load_external([s for s in SITES if s != "cleveland"], source, cache_dir)
    found.update({site: data for site, data in others.items() if data is not None})
    return {site: _frame(*data) for site, data in found.items()}


def _frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(x, columns=list(FEATURE_NAMES))
    frame[TARGET] = y
    return frame


def run(settings: EdaSettings, console: Console) -> Path:
    """Draw the plots, write the report, log both to MLflow; returns the report."""
    data = frames(settings.source, settings.cache_dir)
    out = settings.out
    with console.status("drawing EDA plots"):
        eda_plots.class_balance(data, out / "class_balance.png")
        eda_plots.distributions(data["cleveland"], out / "distributions.png")
        eda_plots.missingness(data, out / "missingness.png")
        eda_plots.correlation(data["cleveland"], out / "correlation.png")
    report = out / "report.md"
    report.write_text(markdown(data))
    configure(settings.tracking)
    with mlflow.start_run(run_name="eda", tags={"command": "eda"}):
        mlflow.log_artifacts(str(out), "eda")
    return report


def markdown(data: dict[str, pd.DataFrame]) -> str:
    absent = [s for s in SITES if s not in data]
    lines = [
        "# UCI Heart Disease: exploratory analysis",
        "",
        "| site | patients | disease | rows with a missing value |",
        "|---|---|---|---|",
        *(
            f"| {site} | {len(f)} | {f[TARGET].mean():.1%} |"
            f" {f[list(FEATURE_NAMES)].isna().any(axis=1).mean():.1%} |"
            for site, f in data.items()
        ),
        "",
        f"Absent from the data source: {', '.join(absent) or 'none'}.",
        f"Zeros in {', '.join(sorted(MISSING_CODED))} count as missing; `?` is missing.",
        "",
        "## Cleveland, by class (median, or most frequent code)",
        "",
        "| field | no disease | disease |",
        "|---|---|---|",
        *_by_class(data["cleveland"]),
        "",
        *(f"![{name}]({name}.png)" for name in _PLOTS),
        "",
    ]
    return "\n".join(lines)


_PLOTS = ("class_balance", "distributions", "missingness", "correlation")


def _by_class(frame: pd.DataFrame) -> list[str]:
    rows = []
    for feature in FEATURES:
        cells = []
        for label in (0, 1):
            values = frame.loc[frame[TARGET] == label, feature.name].dropna()
            if feature.kind == "categorical":
                code = int(values.mode().iloc[0])
                cells.append(f"{code} ({feature.codes[code]})")
            else:
                cells.append(f"{values.median():g}")
        rows.append(f"| {feature.name} | {cells[0]} | {cells[1]} |")
    return rows

"""EDA figures of a patients frame (13 contract columns + ``disease``), as PNG.

Plain :class:`~matplotlib.figure.Figure` objects, as in :mod:`training.plots`:
no pyplot, no backend chosen at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from training.plots import new_figure, save
from transformer.contract import FEATURES, LABELS

TARGET = "disease"
_COLOURS = ("tab:blue", "tab:red")


def class_balance(frames: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Patients with and without disease per site."""
    sites = list(frames)
    width = 0.4
    figure = new_figure((6, 4))
    ax = figure.subplots()
    for label, (name, colour) in enumerate(zip(LABELS, _COLOURS, strict=True)):
        counts = [int((frames[s][TARGET] == label).sum()) for s in sites]
        ax.bar(np.arange(len(sites)) + label * width, counts, width, color=colour, label=name)
    ax.set_xticks(np.arange(len(sites)) + width / 2, sites)
    ax.legend()
    ax.set(ylabel="patients", title="Class balance per site")
    return save(figure, path)


def distributions(frame: pd.DataFrame, path: Path) -> Path:
    """Each feature's distribution by class: histograms or per-code bars."""
    figure = new_figure((15, 12))
    axes = figure.subplots(4, 4)
    for ax, feature in zip(axes.flat, FEATURES, strict=False):
        by_class = [frame.loc[frame[TARGET] == c, feature.name].dropna() for c in (0, 1)]
        if feature.kind == "categorical":
            codes = sorted(feature.codes)
            width = 0.4
            for offset, (values, colour) in enumerate(zip(by_class, _COLOURS, strict=True)):
                share = values.value_counts(normalize=True).reindex(codes, fill_value=0)
                ax.bar(np.arange(len(codes)) + offset * width, share, width, color=colour)
            ax.set_xticks(np.arange(len(codes)) + width / 2, [str(c) for c in codes])
            ax.set_ylabel("share of class")
        else:
            ax.hist(by_class, bins=20, density=True, color=_COLOURS, alpha=0.7)
        ax.set_title(f"{feature.name} ({feature.unit or feature.label})", fontsize=9)
    for ax in list(axes.flat)[len(FEATURES) :]:
        ax.axis("off")
    figure.legend(list(LABELS), loc="lower right", fontsize=11)
    return save(figure, path)


def missingness(frames: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Share of missing values per feature and site (after zeros-as-missing)."""
    names = [f.name for f in FEATURES]
    shares = pd.DataFrame({site: frame[names].isna().mean() for site, frame in frames.items()})
    figure = new_figure((1.6 * len(frames) + 3, 6))
    ax = figure.subplots()
    image = ax.imshow(shares.to_numpy(), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(frames)), list(frames))
    ax.set_yticks(range(len(names)), names)
    for (row, col), value in np.ndenumerate(shares.to_numpy()):
        ax.text(col, row, f"{value:.0%}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=ax, label="missing")
    ax.set_title("Missing values per site")
    return save(figure, path)


def correlation(frame: pd.DataFrame, path: Path) -> Path:
    """Spearman correlation of the features and the target."""
    matrix = frame.corr(method="spearman")
    figure = new_figure((8, 7))
    ax = figure.subplots()
    image = ax.imshow(matrix.to_numpy(), cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_xticks(range(len(matrix)), matrix.columns, rotation=90)
    ax.set_yticks(range(len(matrix)), matrix.columns)
    for (row, col), value in np.ndenumerate(matrix.to_numpy()):
        ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=6)
    figure.colorbar(image, ax=ax)
    ax.set_title("Spearman correlation (Cleveland)")
    return save(figure, path)

"""EDA figures of a patients frame (13 contract columns + ``disease``), as PNG.

Plain :class:`~matplotlib.figure.Figure` objects, as in :mod:`training.plots`:
no pyplot, no backend chosen at import.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from training.plots import new_figure, save
from transformer.contract import FEATURES, LABELS, Feature

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
    top = max(int((f[TARGET] == c).sum()) for f in frames.values() for c in (0, 1))
    ax.set_ylim(0, top * 1.25)  # headroom for the legend above the bars
    ax.legend(loc="upper center", ncols=2)
    ax.set(ylabel="patients", title="Class balance per site")
    return save(figure, path)


def distributions(frame: pd.DataFrame, path: Path, site: str = "Cleveland") -> Path:
    """:func:`distributions_figure` written to ``path``."""
    return save(distributions_figure(frame, site), path)


def distributions_figure(frame: pd.DataFrame, site: str = "Cleveland") -> Figure:
    """Each feature's distribution by class, one panel per contract field.

    Categorical fields and small integer counts (``ca``: 0-3 vessels) are bars
    per value, labelled with the contract's labels; continuous fields are
    histograms over the contract's unit. Every panel's y axis is the share of
    each class (bars of a class sum to 1 over its measured values), so the
    classes compare despite their sizes; missing values are counted in the
    panel, and the legend (with each class's size) fills a spare panel.
    """
    figure = new_figure((16, 13))
    axes = list(figure.subplots(4, 4).flat)
    classes = [frame.loc[frame[TARGET] == c] for c in (0, 1)]
    for ax, feature in zip(axes, FEATURES, strict=False):
        by_class = [c[feature.name].dropna().to_numpy() for c in classes]
        if _discrete(feature):
            _bars(ax, feature, by_class)
        else:
            _histogram(ax, feature, by_class)
        ax.set_title(f"{feature.label} ({feature.name})", fontsize=9)
        ax.set_ylabel("share of class" if _discrete(feature) else "share of class per bin")
        _note_missing(ax, frame[feature.name].isna().sum())
    for ax in axes[len(FEATURES) :]:
        ax.axis("off")
    handles = [Patch(color=colour) for colour in _COLOURS]
    names = [f"{name} (n = {len(c)})" for name, c in zip(LABELS, classes, strict=True)]
    axes[len(FEATURES)].legend(
        handles, names, loc="center", fontsize=12, title=f"{site} patients", title_fontsize=12
    )
    figure.suptitle(f"Distribution of each feature by class ({site})", fontsize=14)
    return figure


#: Integer fields with at most this many values are drawn as bars per value.
_MAX_DISCRETE_VALUES = 6


def _discrete(feature: Feature) -> bool:
    if feature.kind == "categorical":
        return True
    if not feature.integer or feature.minimum is None or feature.maximum is None:
        return False
    return feature.maximum - feature.minimum + 1 <= _MAX_DISCRETE_VALUES


def _values_and_labels(feature: Feature) -> tuple[list[float], list[str]]:
    if feature.kind == "categorical":
        labels = [textwrap.fill(t, 11, break_long_words=False) for t in feature.codes.values()]
        return [float(c) for c in feature.codes], labels
    assert feature.minimum is not None and feature.maximum is not None
    values = [float(v) for v in range(int(feature.minimum), int(feature.maximum) + 1)]
    return values, [f"{v:g}" for v in values]


def _bars(ax: Axes, feature: Feature, by_class: list[np.ndarray]) -> None:
    values, labels = _values_and_labels(feature)
    width = 0.4
    for offset, (data, colour) in enumerate(zip(by_class, _COLOURS, strict=True)):
        share = [float(np.mean(data == v)) if len(data) else 0.0 for v in values]
        ax.bar(np.arange(len(values)) + (offset - 0.5) * width, share, width, color=colour)
    ax.set_xticks(np.arange(len(values)), labels, fontsize=7.5)
    if feature.kind == "numeric":
        ax.set_xlabel(feature.unit)


def _histogram(ax: Axes, feature: Feature, by_class: list[np.ndarray]) -> None:
    measured = np.concatenate(by_class)
    bins = np.histogram_bin_edges(measured, bins=15).tolist()
    weights = [np.full(len(data), 1 / max(len(data), 1)) for data in by_class]
    ax.hist(by_class, bins=bins, weights=weights, color=_COLOURS, alpha=0.75)
    ax.set_xlabel(feature.unit)


def _note_missing(ax: Axes, missing: int) -> None:
    if missing:
        ax.text(
            0.98,
            0.97,
            f"{missing} missing",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="dimgray",
        )


def missingness(frames: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Share of missing values per feature and site (after zeros-as-missing)."""
    names = [f.name for f in FEATURES]
    shares = pd.DataFrame({site: frame[names].isna().mean() for site, frame in frames.items()})
    figure = new_figure((1.6 * len(frames) + 5.5, 6))
    ax = figure.subplots()
    image = ax.imshow(shares.to_numpy(), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(frames)), list(frames))
    ax.set_yticks(range(len(names)), [f"{f.label} ({f.name})" for f in FEATURES])
    for (row, col), value in np.ndenumerate(shares.to_numpy()):
        colour = "white" if value > 0.6 else "black"  # readable on the dark cells
        ax.text(col, row, f"{value:.0%}", ha="center", va="center", fontsize=8, color=colour)
    figure.colorbar(image, ax=ax, label="share of patients with the value missing")
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
        colour = "white" if abs(value) > 0.6 else "black"
        ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=6, color=colour)
    figure.colorbar(image, ax=ax, label="Spearman rank correlation")
    ax.set_title("Spearman correlation (Cleveland)")
    return save(figure, path)

"""Model plots: ROC, calibration, confusion matrix, feature importance (PNG).

Each plot function draws one figure from numbers it is given and writes it to
``path``; :func:`model_figures` draws all four for a published model. Nothing
here fits a model or talks to MLflow. Figures are plain :class:`Figure`
objects (no pyplot): importing or drawing never chooses a GUI backend or
touches matplotlib's global state, so servers, Ray workers and headless CI
need no ``MPLBACKEND``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline

from training.evaluate import CVResult
from transformer.contract import FEATURE_NAMES, LABELS

Scored = tuple[np.ndarray, np.ndarray]  # (y, probability)
Dataset = tuple[np.ndarray, np.ndarray]  # (x, y)


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A new figure that belongs to no pyplot window (saved with :func:`save`)."""
    return Figure(figsize=figsize)


def save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as PNG to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def roc(curves: Mapping[str, Scored], path: Path) -> Path:
    """ROC curves, one per name (e.g. 'Cleveland CV' and each external site)."""
    fig = new_figure((5.5, 5))
    ax = fig.subplots()
    for name, (y, probability) in curves.items():
        fpr, tpr, _ = roc_curve(y, probability)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, probability):.3f})")
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="chance")
    ax.set(
        xlabel="1 - specificity", ylabel="sensitivity", title="ROC: CV out-of-fold, held-out sites"
    )
    ax.legend(loc="lower right", fontsize=8)
    return save(fig, path)


def calibration(y: np.ndarray, probability: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Reliability diagram of out-of-fold probabilities."""
    observed, predicted = calibration_curve(y, probability, n_bins=bins, strategy="quantile")
    fig = new_figure((5.5, 5))
    ax = fig.subplots()
    ax.plot(predicted, observed, "o-", label="model (CV, out-of-fold)")
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="perfectly calibrated")
    ax.set(
        xlabel="predicted P(disease)",
        ylabel="observed frequency of disease",
        title="Calibration, cross-validated out-of-fold predictions",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left", fontsize=8)
    return save(fig, path)


def calibration_by_site(held_out: Mapping[str, Scored], path: Path, bins: int = 8) -> Path:
    """One reliability panel per held-out site (leave-one-site-out predictions)."""
    sites = list(held_out)
    fig = new_figure((4.2 * max(len(sites), 1), 4.4))
    axes = np.atleast_1d(fig.subplots(1, max(len(sites), 1), sharey=True))
    for ax, site in zip(axes, sites, strict=False):
        y, probability = held_out[site]
        observed, predicted = calibration_curve(y, probability, n_bins=bins, strategy="quantile")
        ax.plot(predicted, observed, "o-", label=f"trained without {site.capitalize()}")
        ax.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="perfectly calibrated")
        ax.set(
            title=f"{site.capitalize()} held out (n={len(y)})",
            xlabel="predicted P(disease)",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("observed frequency of disease")
    fig.suptitle("Calibration per site, leave-one-site-out (out-of-site predictions)")
    return save(fig, path)


def loso_comparison(
    rows: Mapping[str, Mapping[str, tuple[float, float, float]]], path: Path
) -> Path:
    """Held-out-site ROC-AUC of each candidate (bars, 95% bootstrap CI), one group per site.

    ``rows``: candidate -> site -> (value, CI low, CI high).
    """
    candidates = list(rows)
    sites = list(dict.fromkeys(s for r in rows.values() for s in r))
    width = 0.8 / max(len(candidates), 1)
    fig = new_figure((1.6 + 2.4 * len(sites) + 0.25 * len(candidates), 4.8))
    ax = fig.subplots()
    for i, name in enumerate(candidates):
        positions = np.arange(len(sites)) + (i - (len(candidates) - 1) / 2) * width
        values = np.array([rows[name].get(s, (np.nan,) * 3) for s in sites])
        errors = np.abs(values[:, 1:].T - values[:, 0])
        ax.bar(positions, values[:, 0], width, yerr=errors, capsize=2, label=name)
    ax.set_xticks(np.arange(len(sites)), [f"{s.capitalize()} held out" for s in sites])
    ax.set(
        ylabel="ROC-AUC on the held-out site",
        ylim=(0.5, 1.0),
        title="Leave-one-site-out ROC-AUC by candidate (95% bootstrap CI)",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="candidate")
    return save(fig, path)


def confusion(y: np.ndarray, probability: np.ndarray, threshold: float, path: Path) -> Path:
    """Confusion matrix of out-of-fold predictions at ``threshold``."""
    matrix = confusion_matrix(y, (probability >= threshold).astype(int), labels=[0, 1])
    fig = new_figure((4.8, 4.2))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        ax.text(col, row, str(count), ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], LABELS)
    ax.set_yticks([0, 1], LABELS)
    ax.set(
        xlabel="predicted",
        ylabel="actual",
        title=f"Confusion, CV out-of-fold, threshold {threshold:.2f}",
    )
    return save(fig, path)


def importance(names: list[str], means: np.ndarray, stds: np.ndarray, path: Path) -> Path:
    """Horizontal bars of feature importances, largest at the top."""
    order = np.argsort(means)
    fig = new_figure((6, 5))
    ax = fig.subplots()
    ax.barh([names[i] for i in order], means[order], xerr=stds[order], color="tab:blue")
    ax.set(xlabel="drop in ROC-AUC when shuffled", title="Permutation importance (training data)")
    return save(fig, path)


def model_figures(
    result: CVResult,
    pipeline: Pipeline,
    x: np.ndarray,
    y: np.ndarray,
    *,
    external: Mapping[str, Dataset | None],
    folder: Path,
) -> list[Path]:
    """The plots of a model: CV out-of-fold curves, external sites on the ROC, and
    (with LOSO) calibration per held-out site.

    Importance is permutation importance of the 13 raw fields (ROC-AUC drop),
    comparable across model families.
    """
    curves: dict[str, Scored] = {"CV, out-of-fold": (y, result.oof_probability)}
    for site, held in result.loso.items():
        curves[f"{site.capitalize()} held out (LOSO)"] = (held.y, held.probability)
    for site, data in external.items():
        if data is not None and len(np.unique(data[1])) == 2:
            curves[f"{site.capitalize()} (external)"] = (
                data[1],
                pipeline.predict_proba(data[0])[:, 1],
            )
    found = permutation_importance(
        pipeline, x, y, scoring="roc_auc", n_repeats=5, random_state=0, n_jobs=1
    )
    held_out = {s: (h.y, h.probability) for s, h in result.loso.items()}
    by_site = [calibration_by_site(held_out, folder / "calibration_sites.png")] if held_out else []
    return [
        *by_site,
        roc(curves, folder / "roc.png"),
        calibration(y, result.oof_probability, folder / "calibration.png"),
        confusion(y, result.oof_probability, result.threshold, folder / "confusion.png"),
        importance(
            list(FEATURE_NAMES),
            found.importances_mean,
            found.importances_std,
            folder / "importance.png",
        ),
    ]

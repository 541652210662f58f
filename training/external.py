"""External validation: the final model scored on the sites it was not trained on.

A site whose file the data source does not hold is *absent*: it appears in the
table as absent, it is not an error. A corrupt file still is one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from training.data import DEFAULT_CACHE, SITES, SiteUnavailableError, load_site
from training.metrics import scores

#: Candidates for external validation; the training sites are taken out of
#: them (:func:`training.sites.external_sites`).
EXTERNAL_SITES: tuple[str, ...] = tuple(SITES)
Dataset = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class SiteScore:
    """One row of the external-validation table (metrics NaN when absent)."""

    site: str
    present: bool
    n: int = 0
    prevalence: float = math.nan
    roc_auc: float = math.nan
    accuracy: float = math.nan
    sensitivity: float = math.nan
    specificity: float = math.nan

    def metrics(self) -> dict[str, float]:
        """``{external_<site>_<metric>: value}`` for MLflow (present sites only)."""
        if not self.present:
            return {}
        names = ("n", "prevalence", "roc_auc", "accuracy", "sensitivity", "specificity")
        return {f"external_{self.site}_{name}": float(getattr(self, name)) for name in names}


def load_external(
    sites: Iterable[str], source: str | None = None, cache_dir: Path = DEFAULT_CACHE
) -> dict[str, Dataset | None]:
    """Each site's data, or ``None`` when the source does not have it."""
    out: dict[str, Dataset | None] = {}
    for site in sites:
        try:
            out[site] = load_site(site, source, cache_dir)
        except SiteUnavailableError:
            out[site] = None
    return out


def score_sites(
    pipeline: Pipeline, threshold: float, datasets: Mapping[str, Dataset | None]
) -> list[SiteScore]:
    """Score the fitted ``pipeline`` at ``threshold`` on every site given."""
    rows = []
    for site, dataset in datasets.items():
        if dataset is None:
            rows.append(SiteScore(site, present=False))
            continue
        x, y = dataset
        got = scores(y, pipeline.predict_proba(x)[:, 1], threshold)
        rows.append(
            SiteScore(
                site,
                present=True,
                n=len(y),
                prevalence=float(y.mean()),
                roc_auc=got["roc_auc"],
                accuracy=got["accuracy"],
                sensitivity=got["sensitivity"],
                specificity=got["specificity"],
            )
        )
    return rows

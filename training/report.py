"""The end-of-training summary: rich tables on the console, Markdown on disk.

The Markdown file (``reports/training/metrics.md``) is what the README's
metrics table is copied from, and it is logged to the MLflow run too.
"""

from __future__ import annotations

import math
from pathlib import Path

from rich.table import Table

from training.evaluate import CVResult
from training.external import SiteScore
from training.metrics import METRICS
from training.train import TrainOutcome

_HEADERS = {
    "roc_auc": "ROC-AUC",
    "accuracy": "accuracy",
    "f1": "F1",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "brier": "Brier",
}
_SITE_COLUMNS = ("n", "prevalence", "roc_auc", "accuracy", "sensitivity", "specificity")


def _cv_rows(outcome: TrainOutcome) -> list[list[str]]:
    rows = []
    for result in outcome.results + outcome.baselines:
        name = result.family
        if result is outcome.champion:
            name += " (champion)"
        elif any(result is b for b in outcome.baselines):
            name += " (baseline)"
        rows.append([name, *(str(result.metrics[m]) for m in METRICS)])
    return rows


def _site_rows(sites: list[SiteScore]) -> list[list[str]]:
    rows = []
    for site in sites:
        if not site.present:
            rows.append([site.site, "absent", *["-"] * (len(_SITE_COLUMNS) - 1)])
            continue
        values = [getattr(site, c) for c in _SITE_COLUMNS]
        rows.append([site.site, str(site.n), *(_fmt(v) for v in values[1:])])
    return rows


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def tables(outcome: TrainOutcome) -> list[Table]:
    """The CV table (mean [95% CI]) and the external-validation table."""
    cv = Table(title=f"Cleveland, {_cv_title(outcome.champion)}")
    for header in ["model", *(_HEADERS[m] for m in METRICS)]:
        cv.add_column(header)
    for row in _cv_rows(outcome):
        cv.add_row(*row)
    external = Table(title="External validation of the champion (trained on Cleveland)")
    for header in ["site", *_SITE_COLUMNS]:
        external.add_column(header)
    for row in _site_rows(outcome.published.external):
        external.add_row(*row)
    return [cv, external]


def _cv_title(result: CVResult) -> str:
    cv = result.cv
    return f"stratified {cv.folds}-fold CV x {cv.repeats} repeats, mean [95% CI]"


def markdown(outcome: TrainOutcome) -> str:
    """Both tables as Markdown, with the threshold and the model version."""
    published = outcome.published
    lines = [
        f"Cross-validation on Cleveland ({_cv_title(outcome.champion)}):",
        "",
        *_md_table(["model", *(_HEADERS[m] for m in METRICS)], _cv_rows(outcome)),
        "",
        f"Decision threshold {published.manifest.threshold:.3f}:"
        f" {published.manifest.threshold_rule}.",
        "",
        "External validation of the champion (trained on all of Cleveland):",
        "",
        *_md_table(["site", *_SITE_COLUMNS], _site_rows(published.external)),
        "",
    ]
    return "\n".join(lines)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def write_markdown(outcome: TrainOutcome, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metrics.md"
    path.write_text(markdown(outcome))
    return path

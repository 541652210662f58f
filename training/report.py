"""The end-of-training summary: rich tables on the console, Markdown and plots on disk.

The Markdown file (``reports/training/metrics.md``) is what the README's
metrics table is copied from; it holds the CV table, the leave-one-site-out
table per held-out site, the missing-value comparison and the external
validation. :func:`write_figures` draws the LOSO comparison and the
champion's calibration per site beside it. All are logged to the MLflow run.
"""

from __future__ import annotations

import math
from pathlib import Path

from rich.table import Table

from training import plots
from training.evaluate import CVResult
from training.external import SiteScore
from training.loso import LOSO_METRICS
from training.metrics import METRICS, Estimate
from training.selection import CHAMPION_RULE
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
_LOSO_HEADERS = {
    "auc": "ROC-AUC",
    "brier": "Brier",
    "calibration_slope": "calibration slope",
    "calibration_intercept": "calibration intercept",
}


def _cv_rows(outcome: TrainOutcome) -> list[list[str]]:
    rows = []
    for result in outcome.results + outcome.baselines:
        name = result.label
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


def _loso_rows(outcome: TrainOutcome) -> list[list[str]]:
    """One row per (candidate, held-out site): LOSO metrics with bootstrap CIs."""
    rows = []
    for result in outcome.results + outcome.baselines:
        name = result.label + (" (champion)" if result is outcome.champion else "")
        for site, held in result.loso.items():
            values = [_ci(held.metrics[m]) for m in LOSO_METRICS]
            rows.append([name, site, str(held.rows), *values])
    return rows


def _ci(value: Estimate) -> str:
    if math.isnan(value.mean):
        return "n/a"
    if value.low == value.high:
        return f"{value.mean:.3f}"
    return f"{value.mean:.3f} [{value.low:.3f}, {value.high:.3f}]"


def _missing_rows(outcome: TrainOutcome) -> list[list[str]]:
    """Per family: worst held-out-site ROC-AUC of each missing-value handling, and LOSO's pick."""
    by_family: dict[str, dict[str, CVResult]] = {}
    for result in outcome.results:
        by_family.setdefault(result.family, {})[str(result.params.get("missing"))] = result
    handlings = list(dict.fromkeys(m for f in by_family.values() for m in f))
    rows = []
    for family, results in by_family.items():
        worst = {m: results[m].worst_site_auc() for m in results}
        known = {m: v for m, v in worst.items() if not math.isnan(v)}
        pick = max(known, key=lambda m: known[m]) if len(known) > 1 else "-"
        rows.append([family, *(_fmt(worst.get(m, math.nan)) for m in handlings), pick])
    return rows


def _missing_headers(outcome: TrainOutcome) -> list[str]:
    handlings = list(dict.fromkeys(str(r.params.get("missing")) for r in outcome.results))
    return ["family", *(f"{m}: worst-site ROC-AUC" for m in handlings), "LOSO prefers"]


def _table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for header in headers:
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    return table


def tables(outcome: TrainOutcome) -> list[Table]:
    """CV (mean [95% CI]), LOSO per held-out site, missing-value comparison, external sites."""
    out = [
        _table(
            f"{_sites(outcome)}, {_cv_title(outcome.champion)}",
            ["model", *(_HEADERS[m] for m in METRICS)],
            _cv_rows(outcome),
        )
    ]
    if outcome.champion.loso:
        out.append(_table(_LOSO_TITLE, _loso_headers(), _loso_rows(outcome)))
        out.append(_table(_MISSING_TITLE, _missing_headers(outcome), _missing_rows(outcome)))
    out.append(
        _table(
            f"External validation of the champion (trained on {_sites(outcome)})",
            ["site", *_SITE_COLUMNS],
            _site_rows(outcome.published.external),
        )
    )
    return out


_LOSO_TITLE = "Leave-one-site-out: trained on the other sites, scored on the held-out one [95% CI]"
_MISSING_TITLE = "Missing values: indicators or dropping the site-specific tests (ca, thal)"


def _loso_headers() -> list[str]:
    return ["model", "held-out site", "rows", *(_LOSO_HEADERS[m] for m in LOSO_METRICS)]


def _sites(outcome: TrainOutcome) -> str:
    sites = outcome.data.sites if outcome.data is not None else ("cleveland",)
    return " + ".join(s.capitalize() for s in sites)


def _cv_title(result: CVResult) -> str:
    cv = result.cv
    return f"stratified {cv.folds}-fold CV x {cv.repeats} repeats, mean [95% CI]"


def markdown(outcome: TrainOutcome) -> str:
    """Both tables as Markdown, with the threshold and the model version."""
    published = outcome.published
    champion = outcome.champion
    lines = [
        f"Cross-validation on {_sites(outcome)} pooled ({_cv_title(champion)};"
        f" candidates calibrated: {champion.params.get('calibration', 'none')}):",
        "",
        *_md_table(["model", *(_HEADERS[m] for m in METRICS)], _cv_rows(outcome)),
        "",
    ]
    if champion.loso:
        lines += [
            f"{_LOSO_TITLE} ({champion.cv.bootstrap} bootstrap resamples of each site):",
            "",
            *_md_table(_loso_headers(), _loso_rows(outcome)),
            "",
            f"{_MISSING_TITLE}:",
            "",
            *_md_table(_missing_headers(outcome), _missing_rows(outcome)),
            "",
        ]
    lines += [
        f"Champion: {champion.label}. Champion rule: {CHAMPION_RULE}.",
        "",
        f"Decision threshold {published.manifest.threshold:.3f}:"
        f" {published.manifest.threshold_rule}.",
        "",
        f"External validation of the champion (trained on all of {_sites(outcome)}):",
        "",
        *_md_table(["site", *_SITE_COLUMNS], _site_rows(published.external)),
        "",
    ]
    return "\n".join(lines)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def write_figures(outcome: TrainOutcome, folder: Path) -> list[Path]:
    """``loso_auc.png`` (every candidate) and ``calibration_sites.png`` (the champion)."""
    champion = outcome.champion
    if not champion.loso:
        return []
    rows = {
        r.label: {
            s: (h.metrics["auc"].mean, h.metrics["auc"].low, h.metrics["auc"].high)
            for s, h in r.loso.items()
        }
        for r in outcome.results
    }
    held_out = {s: (h.y, h.probability) for s, h in champion.loso.items()}
    return [
        plots.loso_comparison(rows, folder / "loso_auc.png"),
        plots.calibration_by_site(held_out, folder / "calibration_sites.png"),
    ]


def write_markdown(outcome: TrainOutcome, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metrics.md"
    path.write_text(markdown(outcome))
    return path

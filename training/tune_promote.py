"""The rule that decides whether the tuned ``challenger`` replaces ``champion``.

The challenger replaces the champion when there is no champion yet, or when
**both** hold on the cross-validated metrics each version logged
(``cv_roc_auc``, ``cv_brier`` of the run that registered it):

* its mean ROC-AUC beats the champion's by at least ``min_gain`` (default
  0.005: a smaller gain is within the noise of repeated 5-fold CV on 303
  patients), and
* its mean Brier score is no worse (higher) than the champion's by more than
  ``brier_tolerance`` (default 0: calibration must not get worse).

Both versions are compared as logged, so they should come from the same CV
protocol (``make train`` and ``make tune`` both default to 5 folds x 10
repeats, seed 0: the same folds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class PromotionRule:
    min_gain: float = 0.005
    brier_tolerance: float = 0.0


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    champion_version: str | None = None


def decide(
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    rule: PromotionRule = PromotionRule(),
) -> Decision:
    """Apply the rule to two ``{"roc_auc": ..., "brier": ...}`` mappings."""
    if champion is None:
        return Decision(True, "there is no champion yet")
    gain = challenger["roc_auc"] - champion["roc_auc"]
    brier_change = challenger["brier"] - champion["brier"]
    facts = (
        f"ROC-AUC {challenger['roc_auc']:.4f} vs {champion['roc_auc']:.4f} ({gain:+.4f},"
        f" needs >= +{rule.min_gain}), Brier {challenger['brier']:.4f} vs"
        f" {champion['brier']:.4f} ({brier_change:+.4f}, allowed <= +{rule.brier_tolerance})"
    )
    promote = gain >= rule.min_gain and brier_change <= rule.brier_tolerance
    return Decision(promote, facts)


def champion_metrics(model_name: str) -> tuple[str, dict[str, float]] | None:
    """The champion's version and its logged CV metrics, or None without a champion."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    metrics = client.get_run(str(version.run_id)).data.metrics
    if "cv_roc_auc" not in metrics or "cv_brier" not in metrics:
        return None
    return str(version.version), {"roc_auc": metrics["cv_roc_auc"], "brier": metrics["cv_brier"]}


def apply(
    model_name: str, challenger_version: str, challenger: Mapping[str, float], rule: PromotionRule
) -> Decision:
    """Decide, and move the ``champion`` alias to the challenger when the rule says so."""
    current = champion_metrics(model_name)
    decision = decide(challenger, current[1] if current else None, rule)
    if decision.promote:
        MlflowClient().set_registered_model_alias(model_name, CHAMPION, challenger_version)
    return Decision(decision.promote, decision.reason, current[0] if current else None)

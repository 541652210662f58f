"""The rule that decides whether the tuned ``challenger`` replaces ``champion``.

The challenger is never promoted when it fails a behavioural check
(:func:`training.behaviour.check_model_dir`: directional, invariance,
minimum functionality). Otherwise it replaces the champion when there is no
champion yet, or when, on the cross-validated metrics each version's run
logged (``cv_roc_auc``, ``cv_brier``):

* both were cross-validated the same way (the ``cv_folds``, ``cv_repeats``
  and ``cv_seed`` params: the same folds) on the same training sites (the
  ``train_sites`` param; a run without it was trained on Cleveland alone).
  Scores from different protocols or data are not comparable, so the rule
  refuses and says why, as it does for a champion whose protocol was not
  recorded;
* its mean ROC-AUC beats the champion's by at least ``min_gain`` (default
  0.005: a smaller gain is within the noise of repeated 5-fold CV on 303
  patients), and
* its mean Brier score is no worse (higher) than the champion's by more than
  ``brier_tolerance`` (default 0: calibration must not get worse).

``make train`` and ``make tune`` both default to 5 folds x 10 repeats, seed 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training.evaluate import CVResult
from training.tracking import CV_PARAMS

CHAMPION = "champion"
CHALLENGER = "challenger"
#: The training sites of a run that did not record them (before multi-site training).
SINGLE_SITE = "cleveland"


@dataclass(frozen=True)
class PromotionRule:
    min_gain: float = 0.005
    brier_tolerance: float = 0.0


@dataclass(frozen=True)
class Scores:
    """A version's mean CV ROC-AUC and Brier, and the protocol that produced them.

    ``protocol`` = (folds, repeats, seed); None when the run did not record it.
    ``sites`` = the training sites, comma-separated.
    """

    roc_auc: float
    brier: float
    protocol: tuple[int, int, int] | None
    sites: str = ""

    @classmethod
    def of(cls, result: CVResult, sites: str = "") -> Scores:
        cv = result.cv
        return cls(
            result.metrics["roc_auc"].mean,
            result.metrics["brier"].mean,
            (cv.folds, cv.repeats, cv.seed),
            sites,
        )

    def describe(self) -> str:
        return f"ROC-AUC {self.roc_auc:.4f}, Brier {self.brier:.4f}, CV {self.describe_protocol()}"

    def describe_protocol(self) -> str:
        if self.protocol is None:
            return "not recorded"
        folds, repeats, seed = self.protocol
        return f"{folds} folds x {repeats} repeats, seed {seed}"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    champion_version: str | None = None


def decide(
    challenger: Scores,
    champion: Scores | None,
    rule: PromotionRule = PromotionRule(),
    failures: Sequence[str] = (),
) -> Decision:
    """Apply the rule; ``failures`` are the challenger's failed behavioural checks."""
    if failures:
        return Decision(False, "the challenger fails behavioural checks: " + "; ".join(failures))
    if champion is None:
        return Decision(True, "there is no champion yet")
    if champion.protocol is None or champion.protocol != challenger.protocol:
        return Decision(
            False,
            f"not comparable: CV settings differ (challenger {challenger.describe_protocol()},"
            f" champion {champion.describe_protocol()})",
        )
    if champion.sites != challenger.sites:
        return Decision(
            False,
            f"not comparable: trained on other sites (challenger {challenger.sites},"
            f" champion {champion.sites}); make train sets a champion on the new sites",
        )
    return _compare(challenger, champion, rule)


def _compare(challenger: Scores, champion: Scores, rule: PromotionRule) -> Decision:
    gain = challenger.roc_auc - champion.roc_auc
    brier_change = challenger.brier - champion.brier
    facts = (
        f"ROC-AUC {challenger.roc_auc:.4f} vs {champion.roc_auc:.4f} ({gain:+.4f},"
        f" needs >= +{rule.min_gain}), Brier {challenger.brier:.4f} vs"
        f" {champion.brier:.4f} ({brier_change:+.4f}, allowed <= +{rule.brier_tolerance})"
    )
    promote = gain >= rule.min_gain and brier_change <= rule.brier_tolerance
    return Decision(promote, facts)


def champion_scores(model_name: str) -> tuple[str, Scores] | None:
    """The champion's version and the scores its run logged, or None without a champion.

    Metrics a run did not log are NaN; an unrecorded protocol is None.
    """
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    data = client.get_run(str(version.run_id)).data
    metrics, params = data.metrics, data.params
    protocol = None
    if all(name in params for name in CV_PARAMS):
        folds, repeats, seed = (int(params[name]) for name in CV_PARAMS)
        protocol = (folds, repeats, seed)
    scores = Scores(
        metrics.get("cv_roc_auc", math.nan),
        metrics.get("cv_brier", math.nan),
        protocol,
        params.get("train_sites", SINGLE_SITE),
    )
    return str(version.version), scores


def apply(
    model_name: str,
    challenger_version: str,
    challenger: Scores,
    rule: PromotionRule,
    failures: Sequence[str] = (),
) -> Decision:
    """Decide, and move the ``champion`` alias to the challenger when the rule says so."""
    current = champion_scores(model_name)
    decision = decide(challenger, current[1] if current else None, rule, failures)
    if decision.promote:
        MlflowClient().set_registered_model_alias(model_name, CHAMPION, challenger_version)
    return Decision(decision.promote, decision.reason, current[0] if current else None)

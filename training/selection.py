"""The rule ``make train`` uses to pick its champion among the candidates.

Every candidate (a family with a missing-value handling) is scored by
repeated cross-validation on the pooled training sites and by
leave-one-site-out (LOSO). The rule (:data:`CHAMPION_RULE`, stored in
``model.json`` as ``champion_rule`` and on the MLflow run):

1. eligible: mean CV ROC-AUC within :data:`CV_MARGIN` of the best candidate's
   (CV is the precise estimate; LOSO, a handful of sites, is a noisy one);
2. among those, the highest *worst* held-out-site ROC-AUC: the hospital the
   model would do worst at is the one that decides;
3. ties (worst-site ROC-AUC within :data:`TIE`) go to the lower mean
   held-out-site Brier score (calibration at sites it has not seen), then to
   the higher CV ROC-AUC.

With a single training site there is no LOSO and the rule is the former one:
highest mean CV ROC-AUC, ties to the lower CV Brier score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from training.evaluate import CVResult

CV_MARGIN = 0.02
TIE = 0.005
CHAMPION_RULE = (
    f"among candidates whose mean CV ROC-AUC is within {CV_MARGIN} of the best, the highest"
    " worst held-out-site ROC-AUC in leave-one-site-out evaluation; within"
    f" {TIE} of it, the lower mean held-out-site Brier score (one training site:"
    " highest mean CV ROC-AUC, ties to the lower CV Brier score)"
)


def choose_champion(results: Sequence[CVResult]) -> CVResult:
    """The champion of ``results`` under :data:`CHAMPION_RULE`."""
    if not results:
        raise ValueError("no candidate to choose a champion from")
    if any(not r.loso for r in results):
        return max(results, key=lambda r: (r.metrics["roc_auc"].mean, -r.metrics["brier"].mean))
    best_cv = max(r.metrics["roc_auc"].mean for r in results)
    eligible = [r for r in results if r.metrics["roc_auc"].mean >= best_cv - CV_MARGIN]
    best_worst = max(_worst(r) for r in eligible)
    tied = [r for r in eligible if _worst(r) >= best_worst - TIE]
    return min(tied, key=lambda r: (r.mean_site_brier(), -r.metrics["roc_auc"].mean))


def _worst(result: CVResult) -> float:
    value = result.worst_site_auc()
    return -math.inf if math.isnan(value) else value

"""The Ray Tune search of ``make tune`` (``python -m training tune``).

:mod:`~training.tune.cli` (flags, summary) -> :mod:`~training.tune.search`
(the search) -> :mod:`~training.tune.trial` (one trial: the training
evaluation, an MLflow child run) over :mod:`~training.tune.space`; then
:mod:`~training.tune.release` publishes the best as ``challenger`` and
applies :mod:`training.champion`. :mod:`~training.tune.runs` names, stores
and resumes experiments.
"""

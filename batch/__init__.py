"""Batch scoring of patient-record files with Ray Data (``python -m batch``).

:mod:`~batch.cli` -> :mod:`~batch.job` (the Ray Data or pandas backend) ->
:mod:`~batch.scorer` (one batch: the transformer's validation, the
predictor's model) with :mod:`~batch.tables` (CSV/Parquet in, atomic
outputs); :mod:`~batch.bench` is ``make score-bench``. It may import
``training``; ``training`` never imports it.
"""

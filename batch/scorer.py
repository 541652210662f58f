"""Score a batch of patient records: the servers' validation and model, per row.

:class:`BatchScorer` is what both batch paths run on each pandas batch (Ray
Data's ``map_batches`` actors and the plain single-process loop). Records
are validated by :func:`transformer.validation.columns_to_matrix` (the
transformer's own check) and scored by :func:`predictor.inference.predict`
(the predictor's own function) on a model directory loaded and verified by
:func:`predictor.inference.load`. A row that fails validation is not
scored: it comes back with the reason, naming its input row, field and the
allowed values. Nothing is dropped: every input row comes back exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from predictor import inference, storage
from serving.problems import Problem, ValidationError
from transformer.contract import BY_NAME, LABELS
from transformer.validation import columns_to_matrix

#: The input row number (0-based, in file order) carried through to both outputs.
ROW = "row"
#: The transformer's v2 outputs: ``risk`` (P(disease), FP32) and ``label``
#: (``"disease"`` / ``"no disease"``), with the same names and values.
SCORED_COLUMNS = (ROW, "risk", "label")
REJECTED_COLUMNS = (ROW, "reason")
_LABELS = np.array(LABELS, dtype=object)


def header_problems(columns: Sequence[str]) -> list[Problem]:
    """File-level problems of a header (unknown or missing required fields).

    Asks the transformer's validator about a one-row batch of the header's
    columns and keeps the problems that concern the whole request.
    """
    try:
        columns_to_matrix({name: [None] for name in columns}, max_rows=1)
    except ValidationError as exc:
        return [p for p in exc.problems if p.row is None]
    return []


class BatchScorer:
    """Validate and score pandas batches with one loaded, verified model.

    A batch holds :data:`ROW`, any contract fields and ``keep`` columns; the
    result holds, per input row, ``risk`` and ``label`` as the transformer
    answers them (valid rows) or ``reason`` (rejected rows, ``risk`` NaN and
    ``label`` None).
    """

    def __init__(self, model_dir: str | Path, engine: str, keep: Sequence[str] = ()) -> None:
        """``model_dir``: a path or a kserve-storage URI (``s3://...``), as the predictor's."""
        self.model = inference.load(storage.fetch(str(model_dir)), engine)
        self.keep = list(keep)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        columns = {name: _values(batch[name]) for name in batch.columns if name in BY_NAME}
        rows = batch[ROW].to_numpy()
        reasons = _row_reasons(columns, rows)
        valid = np.array([r not in reasons for r in range(len(batch))], dtype=bool)
        risk = np.full(len(batch), np.nan, dtype=np.float32)
        label = np.full(len(batch), None, dtype=object)
        if valid.any():
            subset = {
                name: [v for v, ok in zip(values, valid, strict=True) if ok]
                for name, values in columns.items()
            }
            prediction = inference.predict(self.model, columns_to_matrix(subset, int(valid.sum())))
            risk[valid], label[valid] = prediction.probability, _LABELS[prediction.label]
        out = pd.DataFrame({ROW: rows, "risk": risk, "label": label})
        out["reason"] = [reasons.get(i) for i in range(len(batch))]
        for name in self.keep:
            out[name] = batch[name].to_numpy()
        return out


def _values(column: pd.Series) -> list[object]:
    """A column as Python values: numbers where text parses as one, NaN for missing.

    Text that is not a number (a categorical label like ``male``, or junk)
    stays text for the validator to accept or reject.
    """
    missing = column.isna().to_numpy()
    if column.dtype != object:
        values = column.astype(np.float64).astype(object)
    else:
        numbers = pd.to_numeric(column, errors="coerce")
        values = column.where(numbers.isna(), numbers).astype(object)
    values[missing] = None  # as a server sees a JSON null
    return list(values.tolist())


def _row_reasons(columns: dict[str, list[object]], rows: np.ndarray) -> dict[int, str]:
    """Batch position -> why that row is rejected (all its problems, one line)."""
    try:
        columns_to_matrix(columns, max_rows=max(len(rows), 1))
    except ValidationError as exc:
        by_row: dict[int, list[str]] = defaultdict(list)
        for problem in exc.problems:
            if problem.row is None:  # checked per file by header_problems
                raise
            by_row[problem.row].append(str(replace(problem, row=int(rows[problem.row]))))
        return {i: "; ".join(texts) for i, texts in by_row.items()}
    return {}


def split(scored: pd.DataFrame, keep: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A :class:`BatchScorer` result as (scored rows, rejected rows)."""
    rejected = scored["reason"].notna()
    valid = scored.loc[~rejected, [*SCORED_COLUMNS, *keep]]
    return valid, scored.loc[rejected, [*REJECTED_COLUMNS, *keep]]

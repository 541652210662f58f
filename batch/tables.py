"""Batch-scoring files: read CSV/Parquet input, stream the two outputs.

The format follows the file name (``.csv``, ``.parquet``/``.pq``). CSV
input treats empty cells, ``NA`` and UCI's ``?`` as missing. The input gets
a ``row`` column (0-based, file order) that both outputs carry, so scored
and rejected rows join back to the input. Problems with the file itself
(unreadable, not CSV/Parquet, unknown or missing columns) raise
:class:`ScoreInputError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from batch.scorer import ROW, header_problems
from serving.problems import Problem
from training import files

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
MISSING = ["", "NA", "N/A", "NaN", "nan", "null", "?"]


class ScoreInputError(ValueError):
    """The input file cannot be scored at all (one-line message)."""


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise ScoreInputError(f"{path}: unknown format {suffix or '(none)'}: use .csv or .parquet")


def read_input(path: Path, keep: Sequence[str] = ()) -> pd.DataFrame:
    """The records of ``path`` with a leading ``row`` column; the header checked."""
    kind = _format(path)
    try:
        if kind == "csv":
            options = pa_csv.ConvertOptions(null_values=MISSING, strings_can_be_null=True)
            table = pa_csv.read_csv(path, convert_options=options)
        else:
            table = pq.read_table(path)
        columns = table.column_names
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScoreInputError(f"{path}: cannot read as {kind}: {first}") from None
    check_header(path, columns, keep)
    frame: pd.DataFrame = table.to_pandas()
    frame.insert(0, ROW, range(len(frame)))
    return frame


def check_header(path: Path, columns: Sequence[str], keep: Sequence[str]) -> None:
    found = header_problems([c for c in columns if c not in keep])
    problems = [_column_problem(p) for p in found]
    problems += [f"--keep column '{k}' is not in the file" for k in keep if k not in columns]
    if ROW in columns:
        problems.append(f"column '{ROW}' is reserved for the input row number: rename it")
    if problems:
        unknown = any(p.kind == "unknown_field" for p in found)
        hint = " (pass --keep NAME to carry other columns through)" if unknown else ""
        raise ScoreInputError(f"{path}: {'; '.join(problems)}{hint}")


def _column_problem(problem: Problem) -> str:
    """A header problem, worded for a file: ``column 'age': is required ...``."""
    if problem.field is None:
        return str(problem)
    allowed = f"; allowed: {problem.allowed}" if problem.allowed else ""
    return f"column '{problem.field}': {problem.message}{allowed}"


class Outputs:
    """The scored-rows and rejected-rows files, written batch by batch.

    Batches go to hidden temporary files beside the outputs (``.tmp-*``,
    with the mode of any new file: ``0666 & ~umask``); leaving the block
    normally renames them over the outputs, leaving it with an exception (a
    failed batch, Ctrl-C) deletes them. A failed run never leaves a partial
    output and never touches an earlier one.
    """

    def __init__(self, scored: Path, rejected: Path, keep_schema: pa.Schema) -> None:
        self.paths = (scored, rejected)
        fixed = (
            pa.schema([(ROW, pa.int64()), ("risk", pa.float32()), ("label", pa.string())]),
            pa.schema([(ROW, pa.int64()), ("reason", pa.string())]),
        )
        self.schemas = tuple(pa.schema([*s, *keep_schema]) for s in fixed)
        self.writers: list[pq.ParquetWriter | pa_csv.CSVWriter] = []
        self.parts: list[Path] = []
        self.counts = [0, 0]

    def __enter__(self) -> Outputs:
        kinds = [_format(path) for path in self.paths]  # both names checked before any file
        try:
            for path, kind, schema in zip(self.paths, kinds, self.schemas, strict=True):
                self.parts.append(_part_file(path))
                self.writers.append(_writer(self.parts[-1], kind, schema))
        except BaseException:
            self._discard()
            raise
        return self

    def write(self, scored: pd.DataFrame, rejected: pd.DataFrame) -> None:
        for i, frame in enumerate((scored, rejected)):
            if len(frame):
                table = pa.Table.from_pandas(frame, schema=self.schemas[i], preserve_index=False)
                self.writers[i].write_table(table)
                self.counts[i] += len(frame)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self._discard()
            return
        for writer in self.writers:
            writer.close()
        for part, path in zip(self.parts, self.paths, strict=True):
            os.replace(part, path)

    def _discard(self) -> None:
        for writer in self.writers:
            with contextlib.suppress(Exception):
                writer.close()
        for part in self.parts:
            part.unlink(missing_ok=True)


def _part_file(path: Path) -> Path:
    """A new hidden file beside ``path`` (same folder: the rename stays atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return files.temp_in(path.parent)


def _writer(path: Path, kind: str, schema: pa.Schema) -> pq.ParquetWriter | pa_csv.CSVWriter:
    return pa_csv.CSVWriter(path, schema) if kind == "csv" else pq.ParquetWriter(path, schema)


def keep_schema(frame: pd.DataFrame, keep: Sequence[str]) -> pa.Schema:
    """The arrow types of the carried-through columns (as read)."""
    return pa.Schema.from_pandas(frame[list(keep)], preserve_index=False) if keep else pa.schema([])

"""Batch scoring without Ray: row accounting, reasons, and bad input files.

The plain pandas backend runs the same BatchScorer as the Ray Data backend
(tests/integration/test_ray_score.py covers Ray and the served parity).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from batch.cli import main
from batch.scorer import BatchScorer, split
from batch.tables import Outputs, ScoreInputError, read_input
from predictor import inference
from predictor.manifest import read
from tests.argv import flags
from transformer.contract import LABELS
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.unit


def score(**values: object) -> int:
    """``python -m batch score`` in this process, with the plain pandas backend."""
    return main(["score", *flags(backend="pandas", **values)])


def _records(n: int) -> pd.DataFrame:
    return pd.DataFrame(to_records(generate(n, seed=11, missing_rate=0.1)))


def _with_bad_rows(n: int) -> pd.DataFrame:
    frame = _records(n).astype(object)
    frame.loc[2, "age"] = 300  # out of range
    frame.loc[4, "cp"] = "banana"  # not a code or label
    frame.loc[6, "sex"] = None  # required
    frame.loc[8, "sex"] = "male"  # a label: accepted
    frame.loc[9, "chol"] = "n/a?"  # text in a numeric field
    return frame


def test_every_row_is_scored_or_rejected_with_its_reason(
    tmp_path: Path, synthetic_model_dir: Path
) -> None:
    path = tmp_path / "in.csv"
    _with_bad_rows(40).to_csv(path, index=False)
    out = tmp_path / "scores.csv"
    code = score(input=path, output=out, model_dir=synthetic_model_dir, batch_size=7)
    assert code == 0
    scored, rejected = pd.read_csv(out), pd.read_csv(tmp_path / "scores.rejected.csv")
    assert sorted([*scored["row"], *rejected["row"]]) == list(range(40))
    assert list(rejected["row"]) == [2, 4, 6, 9]
    reasons = dict(zip(rejected["row"], rejected["reason"], strict=True))
    assert reasons[2].startswith("row 2, field 'age': is out of range (got 300.0)")
    assert "allowed: 1 (typical angina)" in reasons[4]
    assert reasons[6] == (
        "row 6, field 'sex': is required (missing is not allowed); allowed: 0 (female), 1 (male)"
    )
    assert "row 9, field 'chol'" in reasons[9]
    assert scored["risk"].between(0, 1).all()
    threshold = read(synthetic_model_dir).threshold  # the transformer's words for the labels
    assert list(scored["label"]) == [LABELS[int(r >= threshold)] for r in scored["risk"]]
    assert set(scored["label"]) == {"disease", "no disease"}


def test_scores_equal_the_predictor_function_on_the_same_rows(synthetic_model_dir: Path) -> None:
    frame = _records(500)
    frame.insert(0, "row", range(len(frame)))
    scored, rejected = split(BatchScorer(synthetic_model_dir, "sklearn")(frame), [])
    assert rejected.empty
    expected = inference.predict(
        inference.load(synthetic_model_dir, "sklearn"), generate(500, seed=11, missing_rate=0.1)
    )
    np.testing.assert_array_equal(scored["risk"].to_numpy(), expected.probability)
    assert list(scored["label"]) == [LABELS[code] for code in expected.label]


def _score_exit(tmp_path: Path, path: Path, model: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = score(input=path, output=tmp_path / "o.csv", model_dir=model)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert not (tmp_path / "o.csv").exists()
    return err


def test_wrong_columns_are_one_line_naming_them(
    tmp_path: Path, synthetic_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.csv"
    _records(5).drop(columns=["age"]).assign(patient="p").to_csv(path, index=False)
    err = _score_exit(tmp_path, path, synthetic_model_dir, capsys)
    assert "column 'patient': is not a field of the contract" in err
    assert "column 'age': is required" in err and "--keep" in err


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("binary.parquet", b"\x00\x01 not parquet", "cannot read as parquet"),
        ("empty.csv", b"", "cannot read as csv"),
        ("latin.csv", b"\xff\xfe\x00garbage\n\x00\x01", "cannot read as csv"),
        ("records.json", b"[]", "unknown format .json"),
        ("missing.csv", None, "cannot read as csv"),
    ],
)
def test_unreadable_files_are_one_line(
    tmp_path: Path,
    synthetic_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    name: str,
    content: bytes | None,
    says: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert says in _score_exit(tmp_path, path, synthetic_model_dir, capsys)


def test_keep_columns_travel_to_both_outputs(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    _records(3).assign(patient=["a", "b", "c"]).to_parquet(path)
    frame = read_input(path, keep=["patient"])
    assert list(frame.columns[:1]) == ["row"] and list(frame["patient"]) == ["a", "b", "c"]
    with pytest.raises(ScoreInputError, match="--keep column 'mrn' is not in the file"):
        read_input(path, keep=["mrn"])


def _batch(rows: range) -> tuple[pd.DataFrame, pd.DataFrame]:
    scored = pd.DataFrame({"row": list(rows), "risk": np.float32(0.5), "label": "disease"})
    return scored, pd.DataFrame({"row": pd.Series([], dtype="int64"), "reason": []})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_outputs_appear_only_when_the_run_succeeds(tmp_path: Path, suffix: str) -> None:
    scored, rejected = tmp_path / f"s{suffix}", tmp_path / f"r{suffix}"
    with Outputs(scored, rejected, pa.schema([])) as out:
        out.write(*_batch(range(5)))
        assert not scored.exists() and not rejected.exists()  # still in .part files
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([scored.name, rejected.name])
    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    assert list(read(scored)["row"]) == list(range(5)) and len(read(rejected)) == 0


def test_a_failed_run_leaves_no_partial_file_and_keeps_the_old_outputs(tmp_path: Path) -> None:
    scored, rejected = tmp_path / "s.csv", tmp_path / "s.rejected.csv"
    scored.write_text("row,risk,label\n0,0.1,0\n")  # an earlier run's result
    with pytest.raises(KeyboardInterrupt), Outputs(scored, rejected, pa.schema([])) as out:
        out.write(*_batch(range(100)))
        raise KeyboardInterrupt  # Ctrl-C half-way
    assert scored.read_text() == "row,risk,label\n0,0.1,0\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]  # no rejected file, no .part


def test_a_bad_rejected_name_fails_before_any_output_is_touched(
    tmp_path: Path, synthetic_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.csv"
    _records(10).to_csv(path, index=False)
    old = tmp_path / "scores.csv"
    old.write_text("earlier results\n")
    rejected = tmp_path / "r.txt"
    code = score(input=path, output=old, rejected=rejected, model_dir=synthetic_model_dir)
    assert code == 2 and "unknown format .txt" in capsys.readouterr().err
    assert old.read_text() == "earlier results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "scores.csv"]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_are_as_readable_as_any_new_file(tmp_path: Path, umask: int) -> None:
    """Not 0600 (mkstemp's mode): the files follow the umask like any other new file."""
    scored, rejected = tmp_path / "s.parquet", tmp_path / "s.rejected.csv"
    previous = os.umask(umask)
    try:
        with Outputs(scored, rejected, pa.schema([])) as out:
            out.write(*_batch(range(3)))
    finally:
        os.umask(previous)
    assert [stat.S_IMODE(p.stat().st_mode) for p in (scored, rejected)] == [0o666 & ~umask] * 2

"""``python -m batch score`` on a real local Ray: every row accounted for,
the same files as the plain pandas path, and the same numbers the real
predictor server returns for the same rows, and the real transformer for the
same CSV rows written by people (labels such as ``male``, empty cells, ``?``)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from tests.argv import flags
from tests.conftest import REPO
from tests.integration.serving_fixtures import Server, predictor_server
from transformer.contract import BY_NAME, FEATURE_NAMES, LABELS
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.integration
ROWS = 3000
BAD: dict[int, tuple[str, int | str | None]] = {
    17: ("age", 300),
    123: ("thal", "purple"),
    2999: ("cp", None),
}


def _score(**values: object) -> subprocess.CompletedProcess[str]:
    """``python -m batch score`` with these flags (``model_dir=...`` -> ``--model-dir ...``)."""
    return subprocess.run(
        [sys.executable, "-m", "batch", "score", *flags(num_cpus=2, **values)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.DataFrame(to_records(generate(ROWS, seed=5, missing_rate=0.05))).astype(object)
    for row, (field, value) in BAD.items():
        frame.loc[row, field] = value
    path = tmp_path_factory.mktemp("score") / "patients.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def ray_scores(records: Path, synthetic_model_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    raylets = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "raylet"}
    out = records.parent / "ray.parquet"
    done = _score(input=records, output=out, model_dir=synthetic_model_dir, batch_size=500)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{ROWS} rows: {ROWS - len(BAD)} scored" in done.stderr
    # Ray's start-up is reported apart from the scoring rate (which would be tiny with it)
    timing = re.search(
        r"Ray start-up ([\d.]+) s, then ([\d,]+) rows/s; ([\d.]+) s in all", done.stderr
    )
    assert timing, done.stderr
    startup, rate, total = float(timing[1]), float(timing[2].replace(",", "")), float(timing[3])
    assert 0 < startup < total and rate > ROWS / total
    after = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "raylet"}
    assert after <= raylets  # the local Ray was shut down
    return pd.read_parquet(out), pd.read_parquet(records.parent / "ray.rejected.parquet")


def test_valid_plus_rejected_is_the_input(ray_scores: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    scored, rejected = ray_scores
    assert len(scored) + len(rejected) == ROWS
    assert sorted([*scored["row"], *rejected["row"]]) == list(range(ROWS))
    assert list(scored["row"]) == sorted(scored["row"])  # input order kept
    where = rejected["reason"].str.split(":").str[0]
    assert dict(zip(rejected["row"], where, strict=True)) == {
        row: f"row {row}, field '{field}'" for row, (field, _) in BAD.items()
    }


def test_ray_and_plain_pandas_write_the_same_scores(
    records: Path, synthetic_model_dir: Path, ray_scores: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    out = records.parent / "plain.parquet"
    done = _score(
        input=records, output=out, backend="pandas", model_dir=synthetic_model_dir, batch_size=500
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pd.testing.assert_frame_equal(pd.read_parquet(out), ray_scores[0])
    pd.testing.assert_frame_equal(
        pd.read_parquet(records.parent / "plain.rejected.parquet"), ray_scores[1]
    )


def test_scores_equal_the_served_predictions(
    tmp_path: Path,
    records: Path,
    synthetic_model_dir: Path,
    ray_scores: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    scored = ray_scores[0].head(1000)
    frame = pd.read_csv(records).iloc[scored["row"]]
    matrix = frame[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
    server = predictor_server(synthetic_model_dir, tmp_path).start()
    try:
        server.wait_ready()
        data = [None if np.isnan(v) else float(v) for v in matrix.ravel()]  # null = missing
        tensor = {"name": "features", "datatype": "FP32", "shape": list(matrix.shape), "data": data}
        body = {"inputs": [tensor]}
        response = server.post("/v2/models/heart/infer", json=body)
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
    np.testing.assert_array_equal(scored["risk"].to_numpy(), np.float32(outputs["probability"]))
    assert list(scored["label"]) == [LABELS[code] for code in outputs["label"]]


def test_a_bad_file_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, synthetic_model_dir: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("patient,age\np1,50\n")
    done = _score(input=path, output=tmp_path / "o.csv", model_dir=synthetic_model_dir)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: column 'patient'"), done.stderr


#: Rows of the parity file spell categorical fields by label, the way people write CSV.
LABELLED = {"sex": 1, "cp": 2, "exang": 3, "thal": 4}


def _cell(field: str, value: float | None, row: int) -> str:
    """How a person writes the value in a CSV: labels, empty cells and UCI's '?'."""
    if value is None:
        return "?" if row % 2 else ""
    if field in LABELLED and row % LABELLED[field] == 0:
        return BY_NAME[field].codes[int(value)]  # "male", "asymptomatic", ...
    return f"{value:g}"


def _as_json(text: str) -> object:
    """The same cell as a client sends it in JSON: null, a number or the label."""
    if text in ("", "?"):
        return None
    try:
        return float(text)
    except ValueError:
        return text


def test_scores_equal_the_transformers_answers_for_the_same_csv_rows(
    tmp_path: Path, synthetic_model_dir: Path, transformer_rest: Server
) -> None:
    rows = [
        [_cell(f, r[f], i) for f in FEATURE_NAMES]
        for i, r in enumerate(to_records(generate(60, seed=9, missing_rate=0.15)))
    ]
    rows[7][FEATURE_NAMES.index("sex")] = "robot"  # not a code or label: rejected by both
    path = tmp_path / "labelled.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows([list(FEATURE_NAMES), *rows])
    assert {"male", "female", "", "?"} <= {c for row in rows for c in row}
    done = _score(input=path, output=tmp_path / "s.csv", model_dir=synthetic_model_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    scored, rejected = pd.read_csv(tmp_path / "s.csv"), pd.read_csv(tmp_path / "s.rejected.csv")
    assert list(rejected["row"]) == [7] and "field 'sex'" in rejected["reason"][0]

    instances = [
        dict(zip(FEATURE_NAMES, map(_as_json, rows[i]), strict=True)) for i in scored["row"]
    ]
    response = transformer_rest.post("/v1/models/heart:predict", json={"instances": instances})
    assert response.status_code == 200, response.text
    served = response.json()["predictions"]
    assert [p["label"] for p in served] == list(scored["label"])  # "disease" / "no disease"
    assert [p["risk"] for p in served] == [round(float(np.float32(r)), 6) for r in scored["risk"]]
    bad = dict(zip(FEATURE_NAMES, map(_as_json, rows[7]), strict=True))
    refused = transformer_rest.post("/v1/models/heart:predict", json={"instances": [bad]})
    assert refused.status_code == 400 and "'sex'" in refused.text

"""``python -m training score`` on a real local Ray: every row accounted for,
the same files as the plain pandas path, and the same numbers the real
predictor server returns for the same rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from tests.conftest import REPO
from tests.integration.serving_fixtures import predictor_server
from transformer.contract import FEATURE_NAMES
from transformer.synthetic import generate, to_records

pytestmark = pytest.mark.integration
ROWS = 3000
BAD = {17: ("age", 300), 123: ("thal", "purple"), 2999: ("cp", None)}


def _score(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training", "score", "--num-cpus", "2", *args],
        cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


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
    done = _score("--input", str(records), "--output", str(out),
                  "--model-dir", str(synthetic_model_dir), "--batch-size", "500")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{ROWS} rows: {ROWS - len(BAD)} scored" in done.stderr
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
    done = _score("--input", str(records), "--output", str(out), "--backend", "pandas",
                  "--model-dir", str(synthetic_model_dir), "--batch-size", "500")  # fmt: skip
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
        data = np.where(np.isnan(matrix), None, matrix).ravel().tolist()  # JSON null = missing
        tensor = {"name": "features", "datatype": "FP32", "shape": list(matrix.shape), "data": data}
        body = {"inputs": [tensor]}
        response = server.post("/v2/models/heart/infer", json=body)
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
    np.testing.assert_array_equal(scored["risk"].to_numpy(), np.float32(outputs["probability"]))
    np.testing.assert_array_equal(scored["label"].to_numpy(), outputs["label"])


def test_a_bad_file_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, synthetic_model_dir: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("patient,age\np1,50\n")
    done = _score("--input", str(path), "--output", str(tmp_path / "o.csv"),
                  "--model-dir", str(synthetic_model_dir))  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: column 'patient'"), done.stderr

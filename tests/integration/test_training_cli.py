"""`python -m training data|eda` as processes: exit codes, one-line errors, EDA outputs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import REPO
from tests.integration.training_fixtures import clean_env, embedded_flags, run_training

pytestmark = pytest.mark.integration

CLEVELAND = "processed.cleveland.data"


@pytest.fixture
def mirror(data_source: str, tmp_path: Path) -> Path:
    if "://" in data_source:
        pytest.skip("needs a mirror folder")
    folder = tmp_path / "mirror"
    shutil.copytree(data_source, folder)
    (folder / CLEVELAND).chmod(0o644)
    return folder


def test_truncated_file_fails_train_with_one_line_and_no_model(mirror: Path, tmp_path: Path):
    data = (mirror / CLEVELAND).read_bytes()
    (mirror / CLEVELAND).write_bytes(data[: len(data) - 25])  # cut inside the last row
    args = ["train", "--cache-dir", str(tmp_path / "cache"), "--model-dir", str(tmp_path / "m")]
    args += ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    done = run_training(args, clean_env(HEART_DATA_SOURCE=str(mirror)), check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: processed.cleveland.data line 303: ")
    assert not (tmp_path / "m").exists() and not (tmp_path / "cache" / CLEVELAND).exists()
    assert not (tmp_path / "mlflow.db").exists()  # never got as far as tracking


def test_eda_writes_plots_and_report_and_logs_them(data_source: str, tmp_path: Path):
    out = tmp_path / "eda"
    args = ["eda", *embedded_flags(tmp_path), "--out", str(out)]
    run_training(args, clean_env(HEART_DATA_SOURCE=data_source))
    plots = {"class_balance", "distributions", "missingness", "correlation"}
    for name in plots:
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "| cleveland | 303 | 45.9% |" in report
    assert all(f"({name}.png)" in report for name in plots)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        run = mlflow.search_runs(experiment_names=["heart"], output_format="list")[0]
        logged = {Path(a.path).name for a in MlflowClient().list_artifacts(run.info.run_id, "eda")}
    finally:
        mlflow.set_tracking_uri("")
    assert {f"{name}.png" for name in plots} | {"report.md"} <= logged


NO_SIDE_EFFECTS = """
import sys
from pathlib import Path
import numpy as np
import matplotlib
import training.plots, training.eda_plots, batch.bench, training.publish
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()  # the user's choice stands
y = np.array([0, 1, 0, 1, 1, 0])
png = training.plots.roc({"cv": (y, np.linspace(0, 1, 6))}, Path(sys.argv[1]))
assert png.read_bytes()[:4] == b"\\x89PNG"
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported while drawing"
"""


def test_plot_modules_choose_no_backend_and_draw_without_pyplot(tmp_path: Path) -> None:
    env = clean_env(MPLBACKEND="svg")
    done = subprocess.run(
        [sys.executable, "-c", NO_SIDE_EFFECTS, str(tmp_path / "roc.png")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

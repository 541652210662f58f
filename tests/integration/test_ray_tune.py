"""``python -m training tune`` on a real local Ray, interrupted and resumed.

One search of 6 tiny trials (1 at a time; six, so that a loaded machine
cannot finish the whole search before Tune sees the signal) is interrupted
with SIGINT after its first trial finished, then resumed from Ray's
experiment checkpoint: the finished trials are kept (same ids, same
metrics, one MLflow child run each), only the rest run, the best is
registered as ``challenger`` and, with no champion yet, promoted and
exported to the champion's model directory. No Ray process outlives the
command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import psutil
import pytest
from mlflow.tracking import MlflowClient

from predictor.manifest import read, verify
from tests.argv import flags
from tests.conftest import REPO

pytestmark = pytest.mark.integration
NAME = "heart-tune-test"
SAMPLES = 6


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_", "RAY_"))}
    env.pop("MPLBACKEND", None)  # plots need no backend setting (no pyplot)
    env.update(PYTHONPATH=str(REPO), MLFLOW_DISABLE_TELEMETRY="true")
    return env


def _command(folder: Path, source: str, *extra: str) -> list[str]:
    tune = [sys.executable, "-m", "training", "tune"]
    return (
        tune
        + flags(
            source=source,
            cache_dir=folder / "cache",
            tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
            artifact_root=folder / "mlruns",
            storage=folder / "ray",
            model_dir=folder / "challenger",
            champion_dir=folder / "model",
            name=NAME,
            num_samples=SAMPLES,
            max_concurrent=1,
            folds=3,
            repeats=1,
            external_sites="",
            num_cpus=2,
        )
        + list(extra)
    )


def _finished_trials(folder: Path) -> dict[str, float]:
    """trial id -> reported ROC-AUC, from Ray's per-trial result files."""
    found = {}
    for result in (folder / "ray" / NAME).glob("*/result.json"):
        lines = result.read_text().strip().splitlines()
        if lines:
            row = json.loads(lines[-1])
            found[row["trial_id"]] = row["roc_auc"]
    return found


def _raylets() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "raylet"}


def _interrupt_after_first_trial(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    log = folder / "first.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            _command(folder, source), cwd=folder, env=_env(), stdout=out, stderr=out, text=True
        )
        deadline = time.monotonic() + 150
        while not _finished_trials(folder) and process.poll() is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
    return subprocess.CompletedProcess(process.args, code, log.read_text(), "")


def test_interrupted_search_resumes_and_publishes_the_challenger(
    tmp_path: Path, data_source: str
) -> None:
    before = _raylets()
    first = _interrupt_after_first_trial(tmp_path, data_source)
    assert first.returncode == 130, first.stdout[-3000:]
    assert "--resume" in first.stdout
    kept = _finished_trials(tmp_path)
    assert 1 <= len(kept) < SAMPLES

    resumed = subprocess.run(
        _command(tmp_path, data_source, "--resume"),
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    final = _finished_trials(tmp_path)
    assert len(final) == SAMPLES
    assert {t: final[t] for t in kept} == kept  # finished trials were not run again
    assert (
        f"best of {SAMPLES} trials" in resumed.stdout and "promoted to champion" in resumed.stdout
    )

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = MlflowClient()
    experiment = client.get_experiment_by_name("heart")
    assert experiment is not None
    parent = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.ray_experiment = '{NAME}'",
    )
    assert len(parent) == 1
    children = client.search_runs(
        [parent[0].info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent[0].info.run_id}'",
    )
    trial_ids = sorted(c.data.tags["ray_trial_id"] for c in children)
    assert trial_ids == sorted(final)  # one child run per trial, none twice
    challenger = client.get_model_version_by_alias("heart", "challenger")
    assert client.get_model_version_by_alias("heart", "champion").version == challenger.version
    assert challenger.run_id == parent[0].info.run_id
    manifest = verify(tmp_path / "challenger", __import__("sklearn").__version__)
    assert manifest.model_version == str(challenger.version)
    assert read(tmp_path / "model") == manifest  # the promoted model is what serving reads
    assert (tmp_path / "model" / "model.joblib").read_bytes() == (
        tmp_path / "challenger" / "model.joblib"
    ).read_bytes()
    assert _raylets() <= before  # Ray was shut down

"""``make tune`` with ``RAY_ADDRESS`` on a real Ray cluster (``ray start --head``
on 127.0.0.1), and the early refusal of a cluster on other machines that the
trials' embedded MLflow store would be out of reach for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sklearn

from predictor.manifest import read, verify
from tests.argv import flags
from tests.integration.training_fixtures import clean_env, ray_head, run_training
from training.data import load_site

pytestmark = pytest.mark.integration
NAME = "heart-tune-cluster"
ELSEWHERE = "ray://198.51.100.7:10001"  # TEST-NET-2: refused before any connection


def _tune(folder: Path, source: str) -> list[str]:
    return [
        "tune",
        *flags(
            source=source,
            cache_dir=folder / "cache",
            tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
            artifact_root=folder / "mlruns",
            storage=folder / "ray",
            name=NAME,
            model_dir=folder / "challenger",
            champion_dir=folder / "model",
            num_samples=2,
            folds=3,
            repeats=1,
            external_sites="",
        ),
    ]


def _trial_pids(folder: Path) -> dict[str, int]:
    """trial id -> pid of the process that ran it, from Ray's result files."""
    pids = {}
    for result in (folder / "ray" / NAME).glob("*/result.json"):
        row = json.loads(result.read_text().strip().splitlines()[-1])
        pids[row["trial_id"]] = row["pid"]
    return pids


def test_tune_runs_its_trials_on_the_cluster_of_ray_address(
    tmp_path: Path, data_source: str
) -> None:
    with ray_head(tmp_path / "head.log") as head:
        done = run_training(_tune(tmp_path, data_source), head.env, timeout=180)
        pids = _trial_pids(tmp_path)
        logs = {trial: head.worker_logs(pid) for trial, pid in pids.items()}
    assert f"tuning on Ray cluster at {head.address} (2 CPUs)" in done.stderr
    assert len(pids) == 2 and "best of 2 trials" in done.stdout
    assert all(logs.values()), f"trials not run by the cluster's workers: {pids}"
    challenger = verify(tmp_path / "challenger", sklearn.__version__)
    assert read(tmp_path / "model") == challenger  # promoted: exported as the champion
    assert f"exported champion v{challenger.model_version} to {tmp_path / 'model'}" in done.stderr


def test_a_cluster_elsewhere_with_the_embedded_store_stops_at_once(
    tmp_path: Path, data_source: str
) -> None:
    load_site("cleveland", data_source, tmp_path / "cache")  # the data is not the problem
    env = _env(RAY_ADDRESS=ELSEWHERE)
    done = run_training(_tune(tmp_path, data_source), env, timeout=60, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: the Ray cluster at {ELSEWHERE} runs work on other")
    assert f"sqlite:///{tmp_path / 'mlflow.db'}" in lines[0]
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "ray").exists()


def test_batch_scoring_on_a_cluster_elsewhere_refuses_a_local_model_dir(
    tmp_path: Path, synthetic_model_dir: Path
) -> None:
    records = tmp_path / "in.csv"
    records.write_text("age,sex,cp,thalach,exang\n50,1,4,150,0\n")
    args = flags(
        input=records,
        output=tmp_path / "out.csv",
        model_dir=synthetic_model_dir,
        ray_address=ELSEWHERE,
    )
    done = run_training(["score", *args], _env(), timeout=60, check=False, module="batch")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: the Ray cluster at {ELSEWHERE} runs work on other machines, which cannot"
        f" reach the model directory {synthetic_model_dir}: set MLFLOW_TRACKING_URI to a"
        " tracking server they can reach and use shared storage (s3://...) for model"
        " directories, or run without RAY_ADDRESS for a local Ray"
    )
    assert not (tmp_path / "out.csv").exists()


def _env(**extra: str) -> dict[str, str]:
    """This environment without MLflow, AWS and Ray variables, plus ``extra``."""
    return {k: v for k, v in clean_env().items() if not k.startswith("RAY_")} | extra

"""`make profile`: py-spy really samples our transformer under the Go load generator."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loadtest import profile
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_make_profile_samples_the_transformer_and_weighs_threads_by_cpu(
    synthetic_model_dir: Path, tmp_path: Path
) -> None:
    args = (
        f"--model-dir {synthetic_model_dir} --duration 3 --warmup 0.5 --rate 100"
        f" --concurrency 4 --out {tmp_path}"
    )
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed-dev",
            "profile",
            f"PROFILE_ARGS={args}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    name = "transformer-chain-grpc-RF-1row-c4"
    raw = (tmp_path / f"{name}.txt").read_text()
    assert "thread (" in raw and "MainThread" in raw
    assert "HeartTransformer.preprocess (transformer/model.py" in raw, "our code was sampled"
    summary = (tmp_path / f"{name}.md").read_text()
    assert "0 errors of" in summary and "CPU ms/request during the profile: predictor" in summary
    assert "## CPU by thread during the load (from /proc)" in summary
    assert "`HeartTransformer.preprocess (transformer/model.py)`" in summary
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_a_system_without_the_asked_process_is_refused() -> None:
    with pytest.raises(SystemExit):
        profile.ProfileSettings.parse(["--system", "ours", "--process", "transformer"])
    assert profile.ProfileSettings.parse(["--system", "ours", "--process", "predictor"]).name == (
        "predictor-ours-RF-1row-c8"
    )

"""Helpers for the training integration tests: the CLI as a subprocess, and
real servers (moto's S3 server, an MLflow tracking server) on free loopback
ports, stopped when the test ends."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.conftest import REPO, free_port

#: A cheap configuration for tests that check plumbing, not model quality.
SMALL_TRAIN = ["--repeats", "1", "--jobs", "1", "--set", "random_forest.n_estimators=40"]
S3_KEY, S3_SECRET = "testing-key", "testing-secret"
_OUTER = ("MLFLOW_", "AWS_", "HEART_DATA_SOURCE")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without MLflow/AWS/data variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTER)}
    env.pop("MPLBACKEND", None)  # plots need no backend setting (no pyplot)
    env.update(PYTHONPATH=str(REPO), MLFLOW_DISABLE_TELEMETRY="true")
    env.update(extra)
    return env


def embedded_flags(folder: Path) -> list[str]:
    """Flags that keep cache, SQLite store and artifacts inside ``folder``."""
    return [
        "--cache-dir", str(folder / "cache"),
        "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifact-root", str(folder / "mlruns"),
    ]  # fmt: skip


def run_training(
    args: Sequence[str], env: Mapping[str, str], timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``python -m training ARGS`` from the repository root; output on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "training", *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-4000:]}")
    return done


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited ({process.returncode}): {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: good enough
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url}: no answer within {timeout} s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def server(
    command: Sequence[str], ready_url: str, env: Mapping[str, str], log: Path, timeout: float = 60
) -> Iterator[None]:
    """Run ``command`` until the block ends; ready when ``ready_url`` answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_http(ready_url, process, log, timeout)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextlib.contextmanager
def moto_s3(folder: Path) -> Iterator[str]:
    """moto's standalone S3-speaking server; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = Path(sys.executable).with_name("moto_server")
    command = [str(moto), "-H", "127.0.0.1", "-p", str(port)]
    with server(command, endpoint + "/", clean_env(), folder / "moto.log"):
        yield endpoint


def s3_env(endpoint: str) -> dict[str, str]:
    """MLflow's and boto3's S3 variables for ``endpoint``."""
    return {
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@contextlib.contextmanager
def mlflow_server(folder: Path, artifact_root: str, env: Mapping[str, str]) -> Iterator[str]:
    """An MLflow tracking server (SQLite store) whose clients write artifacts to
    ``artifact_root`` themselves (``--no-serve-artifacts``); yields its URI."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
        "--default-artifact-root", artifact_root, "--no-serve-artifacts",
    ]  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    with server(command, uri + "/health", clean_env(**env), folder / "mlflow.log", timeout=90):
        yield uri

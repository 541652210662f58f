"""Helpers for the training integration tests: the CLI as a subprocess, and
real servers (moto's S3 server, an MLflow tracking server, a Ray head) on
free loopback ports, stopped when the test ends."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import mlflow
import psutil
import pytest

from tests.argv import flags
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
    return flags(
        cache_dir=folder / "cache",
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        artifact_root=folder / "mlruns",
    )


def run_training(
    args: Sequence[str],
    env: Mapping[str, str],
    timeout: float = 300,
    check: bool = True,
    module: str = "training",
) -> subprocess.CompletedProcess[str]:
    """``python -m training ARGS`` (or ``module``) from the repository root; output on failure."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
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
    command = [sys.executable, "-m", "mlflow", "server", "--no-serve-artifacts"]
    command += flags(
        host="127.0.0.1",
        port=port,
        workers=1,
        backend_store_uri=f"sqlite:///{folder / 'server.db'}",
        default_artifact_root=artifact_root,
    )
    uri = f"http://127.0.0.1:{port}"
    with server(command, uri + "/health", clean_env(**env), folder / "mlflow.log", timeout=90):
        yield uri


@dataclass(frozen=True)
class RayHead:
    """A running ``ray start --head``: its address, the environment a driver
    needs to join it (address and auth token) and its session folder."""

    address: str
    env: dict[str, str]
    temp_dir: Path

    def worker_logs(self, pid: int) -> list[Path]:
        """This cluster's log files of the worker process ``pid`` (none: not its worker)."""
        name = re.compile(rf"(python-core-)?worker-\S+[-_]{pid}\.\w+")
        return [p for p in self.temp_dir.glob("session_*/logs/*") if name.fullmatch(p.name)]


@contextlib.contextmanager
def ray_head(log: Path, num_cpus: int = 2, timeout: float = 90) -> Iterator[RayHead]:
    """A real single-node Ray cluster (``ray start --head --block``) on free ports.

    Ray 2.60 clusters use token authentication: the head and its drivers get
    the same random ``RAY_AUTH_TOKEN`` (``~/.ray`` is not touched). Sessions
    and logs go to a private temporary folder. When the block ends, the head
    and every process it started are stopped by pid (``ray stop`` would stop
    every Ray on the machine, including other people's).
    """
    env = {k: v for k, v in clean_env().items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    temp_dir = Path(tempfile.mkdtemp(prefix="rayh-", dir="/tmp"))  # short: socket paths
    port = free_port()
    ray = Path(sys.executable).with_name("ray")
    command = [str(ray), "start", "--head", "--block", "--disable-usage-stats"]
    command += flags(
        port=port,
        node_ip_address="127.0.0.1",
        num_cpus=num_cpus,
        include_dashboard="false",
        temp_dir=temp_dir,
    )
    command += flags(**{name: free_port() for name in _RAY_PORTS})
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_text(log, "Ray runtime started", process, timeout)
        yield RayHead(f"127.0.0.1:{port}", {**env, "RAY_ADDRESS": f"127.0.0.1:{port}"}, temp_dir)
    finally:
        _stop_tree(process.pid)
        shutil.rmtree(temp_dir, ignore_errors=True)


#: Fixed-by-default ports of a Ray head, moved to free ones so that two heads never clash.
_RAY_PORTS = (
    "ray_client_server_port",
    "dashboard_agent_listen_port",
    "dashboard_agent_grpc_port",
    "metrics_export_port",
    "runtime_env_agent_port",
)


def _wait_text(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"ray head not started: {log.read_text()[-3000:]}")
        time.sleep(0.3)


def _stop_tree(pid: int, grace: float = 2) -> None:
    """SIGTERM ``pid`` and all its descendants, SIGKILL what is left after ``grace`` s."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=grace)


@contextlib.contextmanager
def mlflow_in_process() -> Iterator[None]:
    """For the block, MLflow may be configured in the test process itself.

    ``training.tracking.configure`` sets the tracking and registry URIs and
    the active experiment, which MLflow keeps in module globals and
    ``MLFLOW_*`` variables; left behind, later tests would read this store's
    registry. All of it is reset when the block ends.
    """
    saved = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    try:
        yield
    finally:
        mlflow.set_tracking_uri("")
        mlflow.set_registry_uri("")
        mlflow.tracking.fluent._active_experiment_id = None  # no public way to forget it
        for name in [k for k in os.environ if k.startswith("MLFLOW_")]:
            del os.environ[name]
        os.environ.update(saved)


#: The bucket of the S3 training session's artifacts.
BUCKET = "mlflow"


@dataclass(frozen=True)
class S3Training:
    """``make train`` (small CV) done against a tracking server with S3 artifacts.

    ``env`` is what a client needs to reach both (MLFLOW_TRACKING_URI, the
    S3 endpoint and keys); ``output`` is the training command's stdout.
    """

    folder: Path
    uri: str
    env: dict[str, str]
    s3: Any
    output: str


@pytest.fixture(scope="session")
def s3_training(data_source: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Training]:
    """One training run into a real MLflow server whose artifacts live in moto's S3,
    shared by the tests that read it back (registered in tests/integration/conftest.py)."""
    folder = tmp_path_factory.mktemp("s3")
    with moto_s3(folder) as endpoint:
        env = s3_env(endpoint)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        s3.create_bucket(Bucket=BUCKET)
        with mlflow_server(folder, f"s3://{BUCKET}/artifacts", env) as uri:
            client_env = {**env, "MLFLOW_TRACKING_URI": uri}
            args = ["train", "--cache-dir", str(folder / "cache"), *SMALL_TRAIN]
            args += ["--model-dir", str(folder / "model"), "--report-dir", str(folder / "report")]
            done = run_training(args, clean_env(HEART_DATA_SOURCE=data_source, **client_env))
            yield S3Training(folder, uri, client_env, s3, done.stdout)

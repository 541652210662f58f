"""The registered model as an MLflow user meets it, checked against the transformer.

``make train`` (small CV) logs into a real MLflow tracking server whose
artifacts live in moto's S3 server (the session's ``s3_training``). The
champion is then used the MLflow ways: ``mlflow.pyfunc.load_model("models:/heart@champion")``,
``mlflow.sklearn.load_model`` and ``mlflow models serve`` (a real process,
``--env-manager local``, JSON and CSV), and every answer is compared with
the transformer's, served by real transformer and predictor processes on the
exported ``model/``, for every Cleveland and Hungarian row (missing values
included).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from predictor.manifest import Manifest, read
from tests.conftest import REPO, free_port
from tests.integration.serving_fixtures import (
    predictor_server,
    transformer_server,
    v2_columns,
    wait_for,
)
from tests.integration.training_fixtures import (
    S3Training,
    _stop_tree,
    clean_env,
    mlflow_in_process,
)
from training.data import load_site
from transformer.contract import FEATURE_NAMES, LABELS
from transformer.synthetic import to_records

pytestmark = pytest.mark.integration

CHAMPION = "models:/heart@champion"
#: The sklearn flavour is the Pipeline itself; the transformer's predictor runs
#: model.onnx, proven equal to it within this bound at export (training.onnx_export).
ONNX_ATOL = 1e-5


@dataclass(frozen=True)
class Trained:
    folder: Path
    env: dict[str, str]  # what a client process needs: tracking server and S3
    manifest: Manifest
    rows: pd.DataFrame  # Cleveland then Hungarian, float64, NaN = missing


@pytest.fixture(scope="module")
def trained(s3_training: S3Training, data_source: str) -> Iterator[Trained]:
    """The session's S3 training, with this process's MLflow pointed at its server."""
    folder = s3_training.folder
    sites = [load_site(s, data_source, folder / "cache")[0] for s in ("cleveland", "hungarian")]
    rows = pd.DataFrame(np.concatenate(sites).astype(np.float64), columns=FEATURE_NAMES)
    with mlflow_in_process(), pytest.MonkeyPatch.context() as patch:
        for name, value in s3_training.env.items():
            patch.setenv(name, value)
        mlflow.set_tracking_uri(s3_training.uri)
        mlflow.set_registry_uri(s3_training.uri)
        yield Trained(folder, s3_training.env, read(folder / "model"), rows)


@pytest.fixture(scope="module")
def transformer_answers(trained: Trained, tmp_path_factory) -> tuple[np.ndarray, list[str]]:
    """risk and label of every row, from the transformer in front of the predictor."""
    logs = tmp_path_factory.mktemp("serving-logs")
    predictor = predictor_server(trained.folder / "model", logs).start()
    transformer = None
    try:
        predictor.wait_ready()
        address = f"127.0.0.1:{predictor.http_port}"
        transformer = transformer_server(address, "v2", logs).start().wait_ready()
        records = to_records(trained.rows.to_numpy(np.float32))
        response = transformer.post("/v2/models/heart/infer", json=v2_columns(records))
    finally:
        for server in (transformer, predictor):
            if server is not None:
                server.stop()
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
    risk = np.asarray(outputs["risk"], dtype=np.float32)
    assert set(outputs["label"]) == set(LABELS)  # both answers occur: comparisons can fail
    return risk, list(outputs["label"])


def test_pyfunc_from_the_registry_answers_as_the_transformer(trained, transformer_answers):
    risk, labels = transformer_answers
    assert trained.rows.isna().any(axis=None) and set(trained.rows.dtypes) == {np.dtype("f8")}
    got = mlflow.pyfunc.load_model(CHAMPION).predict(trained.rows)
    np.testing.assert_array_equal(got["risk"].to_numpy(), risk)
    assert got["label"].tolist() == labels


def test_sklearn_flavour_of_the_same_version_gives_the_transformers_probabilities(
    trained, transformer_answers
):
    risk, labels = transformer_answers
    pipeline = mlflow.sklearn.load_model(CHAMPION)
    proba = pipeline.predict_proba(trained.rows.to_numpy(np.float32))[:, 1]
    np.testing.assert_allclose(proba, risk, rtol=0, atol=ONNX_ATOL)
    positive = proba.astype(np.float32) >= trained.manifest.threshold
    mine = np.where(positive, LABELS[1], LABELS[0])
    assert mine.tolist() == labels


@pytest.fixture(scope="module")
def mlflow_serve(trained: Trained, tmp_path_factory) -> Iterator[str]:
    """``mlflow models serve`` of the champion, from a folder outside the checkout and
    without PYTHONPATH: the model runs the code it carries."""
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    command = [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", CHAMPION]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    env = {k: v for k, v in clean_env(**trained.env).items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # uvicorn
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow models serve exited:\n{log.read_text()[-3000:]}")
        return httpx.get(url + "/ping", timeout=2).status_code == 200

    try:
        if not wait_for(up, 120):
            raise TimeoutError(f"mlflow models serve not up:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        _stop_tree(process.pid)


def _predictions(response: httpx.Response) -> tuple[np.ndarray, list[str]]:
    assert response.status_code == 200, response.text[:2000]
    rows = response.json()["predictions"]
    return np.asarray([r["risk"] for r in rows], dtype=np.float32), [r["label"] for r in rows]


def test_mlflow_models_serve_answers_json_as_the_transformer(
    trained, transformer_answers, mlflow_serve
):
    split = json.loads(trained.rows.to_json(orient="split", index=False))  # NaN -> null
    response = httpx.post(
        mlflow_serve + "/invocations", json={"dataframe_split": split}, timeout=60
    )
    risk, labels = _predictions(response)
    np.testing.assert_array_equal(risk, transformer_answers[0])
    assert labels == transformer_answers[1]


def test_mlflow_models_serve_answers_csv_as_the_transformer(
    trained, transformer_answers, mlflow_serve
):
    body = trained.rows.to_csv(index=False)  # missing = empty cell; complete columns look int
    response = httpx.post(
        mlflow_serve + "/invocations",
        content=body,
        headers={"content-type": "text/csv"},
        timeout=60,
    )
    risk, labels = _predictions(response)
    np.testing.assert_array_equal(risk, transformer_answers[0])
    assert labels == transformer_answers[1]


def test_mlflow_models_serve_refuses_a_bad_row_naming_row_and_field(trained, mlflow_serve):
    rows = trained.rows.head(3).copy()
    rows.loc[2, "chol"] = 9999.0
    response = httpx.post(
        mlflow_serve + "/invocations",
        content=rows.to_csv(index=False),
        headers={"content-type": "text/csv"},
        timeout=60,
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert "row 2, field 'chol'" in message and "mg/dl" in message


def test_the_model_runs_the_code_it_carries_without_this_project(trained, tmp_path) -> None:
    """With this checkout out of reach (no PYTHONPATH, another folder, the editable
    install's finder removed), the pyfunc imports the modules under its ``code/``."""
    script = textwrap.dedent(
        f"""
        import sys
        editable = [f for f in sys.meta_path if "Editable" in getattr(f, "__name__", "")]
        sys.meta_path[:] = [f for f in sys.meta_path if f not in editable]
        import mlflow, pandas as pd
        model = mlflow.pyfunc.load_model("{CHAMPION}")
        frame = pd.read_json(sys.stdin, orient="split").astype("float64")
        import transformer.validation, predictor.inference
        print(transformer.validation.__file__, predictor.inference.__file__)
        print(model.predict(frame).to_json(orient="split", index=False))
        """
    )
    env = {k: v for k, v in clean_env(**trained.env).items() if k != "PYTHONPATH"}
    rows = trained.rows.head(20)
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=rows.to_json(orient="split", index=False),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    files, answer = done.stdout.strip().splitlines()[-2:]
    for path in files.split():
        assert "/code/" in path and not path.startswith(str(REPO)), path
    got = pd.read_json(io.StringIO(answer), orient="split")
    want = mlflow.pyfunc.load_model(CHAMPION).predict(rows)
    np.testing.assert_allclose(got["risk"], want["risk"], rtol=1e-6)
    assert got["label"].tolist() == want["label"].tolist()


def test_the_version_carries_tags_and_descriptions(trained) -> None:
    client = MlflowClient()
    manifest = trained.manifest
    version = client.get_model_version_by_alias("heart", "champion")
    assert str(version.version) == manifest.model_version
    tags = version.tags
    assert tags["contract_hash"] == manifest.contract_hash
    assert float(tags["threshold"]) == pytest.approx(manifest.threshold, abs=1e-6)
    assert tags["sha256_model_joblib"] == manifest.sha256
    assert tags["sha256_model_onnx"] == manifest.onnx_sha256
    assert tags["cv_protocol"] == "repeated stratified CV, 5 folds x 1 repeats, seed 0"
    assert set(manifest.loso) == {"cleveland", "hungarian"}  # two sites, two held out
    for site, record in manifest.loso.items():
        assert float(tags[f"loso_{site}_auc"]) == pytest.approx(record["auc"]["value"], abs=1e-4)
    assert tags["train_sites"] == "cleveland,hungarian"
    assert f"{manifest.threshold:.3f}" in str(version.description)
    assert "models:/heart@champion" in str(client.get_registered_model("heart").description)
    run = client.get_run(manifest.mlflow_run_id)
    assert f"heart v{manifest.model_version}" in run.data.tags["mlflow.note.content"]
    assert run.inputs is not None
    assert {d.dataset.name for d in run.inputs.dataset_inputs} >= {"cleveland", "hungarian"}

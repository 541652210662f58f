"""The conformance tier's servers, the model's own answers, and the third-party clients.

Four real server processes on loopback: the predictor with each engine
(``onnx``, ``sklearn``) and the transformer in front of each (over gRPC to
the onnx one, over REST to the sklearn one), all on the session's synthetic
model. Every answer a test reads is compared with :class:`Reference`: the
``model.joblib`` Pipeline's own ``predict_proba`` and ``model.json``'s
threshold, computed here in the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from tests.conftest import REPO
from tests.integration.serving_fixtures import Server, predictor_server, transformer_server
from transformer.contract import FEATURES, LABELS
from transformer.synthetic import generate, to_records

#: The tritonclient virtualenv `make tritonclient-venv` builds (override: TRITONCLIENT_PYTHON).
TRITONCLIENT_PYTHON = Path(
    os.environ.get("TRITONCLIENT_PYTHON") or REPO / ".venv-tritonclient" / "bin" / "python"
)
DRIVER = Path(__file__).with_name("tritonclient_driver.py")
PREDICTOR_OUTPUTS = ("probability", "label")
TRANSFORMER_OUTPUTS = ("risk", "label")


@dataclass(frozen=True)
class Reference:
    """What the model itself answers: the joblib Pipeline and the threshold of model.json."""

    pipeline: Any
    threshold: float
    version: str

    def probability(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(matrix.astype(np.float32))[:, 1])

    def labels(self, matrix: np.ndarray) -> list[int]:
        return [int(p >= self.threshold) for p in self.probability(matrix)]


@dataclass(frozen=True)
class Target:
    """One server under test and what it speaks: ``kind`` is predictor or transformer."""

    name: str
    kind: str
    server: Server

    @property
    def outputs(self) -> tuple[str, ...]:
        return PREDICTOR_OUTPUTS if self.kind == "predictor" else TRANSFORMER_OUTPUTS

    @property
    def score(self) -> str:
        """The probability output's name."""
        return self.outputs[0]


#: Patients every target scores: valid contract rows, some values missing.
ROWS = generate(5, seed=11, missing_rate=0.15)


def v2_inputs(kind: str, rows: np.ndarray = ROWS) -> list[dict[str, Any]]:
    """The request's inputs as JSON tensors (None = missing) for a predictor or transformer.

    The transformer gets one FP64 column per field, ``sex`` as BYTES labels
    (its documented alternative); the predictor one FP32 [N, 13] tensor.
    """
    if kind == "predictor":
        data = [None if np.isnan(v) else float(v) for v in rows.reshape(-1)]
        return [{"name": "features", "datatype": "FP32", "shape": list(rows.shape), "data": data}]
    records = to_records(rows)
    inputs = []
    for feature in FEATURES:
        values = [r[feature.name] for r in records]
        if feature.name == "sex" and all(v is not None for v in values):
            labels = [feature.codes[int(v)] for v in values]  # type: ignore[arg-type]
            inputs.append(
                {"name": "sex", "datatype": "BYTES", "shape": [len(rows)], "data": labels}
            )
        else:
            inputs.append(
                {"name": feature.name, "datatype": "FP64", "shape": [len(rows)], "data": values}
            )
    return inputs


def check_answer(
    reference: Reference,
    target: Target,
    outputs: Mapping[str, Any],
    rows: np.ndarray = ROWS,
) -> None:
    """The outputs a client read equal the model's own (within float32 rounding)."""
    expected = reference.probability(rows)
    assert np.allclose(np.asarray(outputs[target.score], dtype=np.float64), expected, atol=1e-5)
    labels = reference.labels(rows)
    if "label" in outputs:
        if target.kind == "predictor":
            assert [int(v) for v in outputs["label"]] == labels
        else:
            assert list(outputs["label"]) == [LABELS[v] for v in labels]


@pytest.fixture(scope="session")
def reference(synthetic_model_dir: Path) -> Reference:
    manifest = json.loads((synthetic_model_dir / "model.json").read_text())
    pipeline = joblib.load(synthetic_model_dir / "model.joblib")
    return Reference(pipeline, float(manifest["threshold"]), str(manifest["model_version"]))


@pytest.fixture(scope="session")
def conformance_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance-logs")


@pytest.fixture(scope="session")
def targets(synthetic_model_dir: Path, conformance_logs: Path) -> Iterator[dict[str, Target]]:
    """Both engines of the predictor and a transformer in front of each, started together."""
    onnx = predictor_server(synthetic_model_dir, conformance_logs, ["--engine", "onnx"])
    sklearn = predictor_server(synthetic_model_dir, conformance_logs, ["--engine", "sklearn"])
    servers = [onnx.start(), sklearn.start()]
    try:
        for server in servers:
            server.wait_ready()
        over_grpc = transformer_server(onnx.grpc, "grpc-v2", conformance_logs).start()
        servers.append(over_grpc)
        over_rest = transformer_server(f"127.0.0.1:{sklearn.http_port}", "v2", conformance_logs)
        servers.append(over_rest.start())
        over_grpc.wait_ready()
        over_rest.wait_ready()
        yield {
            "predictor-onnx": Target("predictor-onnx", "predictor", onnx),
            "predictor-sklearn": Target("predictor-sklearn", "predictor", sklearn),
            "transformer-grpc": Target("transformer-grpc", "transformer", over_grpc),
            "transformer-rest": Target("transformer-rest", "transformer", over_rest),
        }
    finally:
        for server in servers:
            server.stop()


TARGETS = ["predictor-onnx", "predictor-sklearn", "transformer-grpc", "transformer-rest"]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, targets: dict[str, Target]) -> Target:
    return targets[request.param]


def tritonclient(target: Target, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ``calls`` with tritonclient in its own virtualenv; {label: result}."""
    if not TRITONCLIENT_PYTHON.exists():
        pytest.fail(f"no tritonclient at {TRITONCLIENT_PYTHON}: run `make tritonclient-venv`")
    job = {
        "http": f"127.0.0.1:{target.server.http_port}",
        "grpc": target.server.grpc,
        "model": "heart",
        "calls": calls,
    }
    done = subprocess.run(
        [str(TRITONCLIENT_PYTHON), str(DRIVER)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))

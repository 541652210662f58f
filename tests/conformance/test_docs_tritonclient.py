"""docs/serving.md's tritonclient example, run as written (ports swapped) with tritonclient."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from tests.conformance.conftest import TRITONCLIENT_PYTHON, Reference, Target
from tests.conftest import REPO
from transformer.contract import LABELS
from transformer.validation import records_to_matrix

pytestmark = pytest.mark.conformance

PATIENT = {
    "age": 63,
    "sex": 1,
    "cp": 4,
    "trestbps": 145,
    "chol": 233,
    "fbs": 1,
    "restecg": 2,
    "thalach": 150,
    "exang": 0,
    "oldpeak": 2.3,
    "slope": 3,
    "ca": 0,
    "thal": 6,
}


def snippet() -> str:
    page = (REPO / "docs" / "serving.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    [code] = [b for b in blocks if "import tritonclient" in b]
    return code


def test_documented_tritonclient_example(targets: dict[str, Target], reference: Reference) -> None:
    server = targets["transformer-rest"].server
    code = snippet()
    assert '"127.0.0.1:8080"' in code and '"127.0.0.1:8081"' in code
    assert all(f'"{k}": {v}' in code for k, v in PATIENT.items())
    code = code.replace("127.0.0.1:8080", f"127.0.0.1:{server.http_port}")
    code = code.replace("127.0.0.1:8081", server.grpc)
    done = subprocess.run(
        [str(TRITONCLIENT_PYTHON), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probability = reference.probability(records_to_matrix([PATIENT]))[0]
    label = LABELS[int(probability >= reference.threshold)]
    risk = np.array([probability], dtype=np.float32).round(3)  # as the example prints it
    expected = f"{risk} [b'{label}']"
    assert done.stdout.splitlines() == [
        f"tritonclient.http {expected}",
        f"tritonclient.grpc {expected}",
    ]

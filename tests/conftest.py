"""Fixtures shared by every tier.

Component-specific fixtures live in tests/<tier>/conftest.py; only what
several components need is here.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
#: The read-only UCI mirror beside the checkout (what CI uses).
SHARED_MIRROR = REPO.parent / "shared" / "data" / "heart-disease"


@pytest.fixture(scope="session")
def data_source() -> str:
    """The UCI mirror tests read: HEART_DATA_SOURCE, else ../shared's copy.

    Tests never download from UCI; without a mirror they are skipped.
    """
    source = os.environ.get("HEART_DATA_SOURCE") or str(SHARED_MIRROR)
    if "://" not in source and not Path(source).is_dir():
        pytest.skip(f"no UCI mirror at {source}: set HEART_DATA_SOURCE")
    return source


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def synthetic_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Random Forest trained on contract-generated rows, exported
    exactly as training exports (model.joblib + model.json). For serving
    tests that need a model but not the UCI data."""
    from training.export import write_model_dir
    from training.pipelines import build_pipeline
    from transformer.synthetic import generate

    x = generate(400, seed=7, missing_rate=0.05)
    risk = np.nan_to_num(x[:, 9]) + np.nan_to_num(x[:, 11]) + (x[:, 2] == 4)
    y = (risk > np.median(risk)).astype(int)
    pipeline = build_pipeline("random_forest", {"n_estimators": 25}, seed=0).fit(x, y)
    out = tmp_path_factory.mktemp("synthetic") / "model"
    write_model_dir(
        pipeline, out, threshold=0.5, data=x, model_family="random_forest", model_version="1"
    )
    return out

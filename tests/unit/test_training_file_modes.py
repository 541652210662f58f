"""Files the pipeline writes atomically are as readable as any file the process creates.

``tempfile.mkstemp`` makes 0600 files; renamed into place they stayed 0600,
so a predictor running as another user (uid 10001 over a pvc:// mount)
could not read an exported ``model/``. Every atomic write now gets
``0666 & ~umask``: 0644 under the usual umask 022, 0640 under 027.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from predictor.manifest import MANIFEST_FILE, MODEL_FILE, ONNX_FILE
from training.data import fetch
from training.export import copy_model_dir, write_model_dir
from training.pipelines import build_pipeline
from transformer.synthetic import generate

pytestmark = pytest.mark.unit

CLEVELAND = "processed.cleveland.data"


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process umask for the test (restored after)."""
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_exported_model_files_follow_the_umask(umask: int, tmp_path: Path) -> None:
    x = generate(120, seed=3)
    y = (np.nan_to_num(x[:, 0]) > 54).astype(int)
    pipeline = build_pipeline("logistic_regression", {}, seed=0).fit(x, y)
    out = tmp_path / "model"
    write_model_dir(pipeline, out, threshold=0.5, data=x, model_family="logistic_regression")
    names = {MODEL_FILE, ONNX_FILE, MANIFEST_FILE}
    assert {p.name for p in out.iterdir()} == names  # no temporary file left
    assert {name: _mode(out / name) for name in names} == dict.fromkeys(names, 0o666 & ~umask)
    copied = tmp_path / "champion"
    copy_model_dir(out, copied)
    assert {name: _mode(copied / name) for name in names} == dict.fromkeys(names, 0o666 & ~umask)


def test_cached_data_files_follow_the_umask(umask: int, data_source: str, tmp_path: Path) -> None:
    if "://" in data_source:
        pytest.skip("needs a mirror folder")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(Path(data_source) / CLEVELAND, mirror / CLEVELAND)
    cached = fetch("cleveland", str(mirror), tmp_path / "cache")
    assert _mode(cached) == 0o666 & ~umask
    assert [p.name for p in cached.parent.iterdir()] == [CLEVELAND]

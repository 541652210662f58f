"""``model.json``: the manifest that travels beside ``model.joblib``.

Training writes it, the predictor reads and
verifies it before unpickling anything (:func:`verify`). Standard library
only, so training, serving and tests share it without heavy imports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "model.json"
#: Bumped when the manifest's fields change incompatibly.
FORMAT_VERSION = 1


class ManifestError(ValueError):
    """The model directory cannot be trusted; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """Everything a server needs to know about ``model.joblib``.

    ``threshold`` turns P(disease) into a label; ``threshold_rule`` says how
    it was chosen. ``model_version`` is the MLflow registry version (a string,
    "" when unregistered). ``metrics`` are the cross-validated scores.
    """

    feature_order: list[str]
    contract_hash: str
    sklearn_version: str
    sha256: str
    threshold: float
    threshold_rule: str = ""
    model_family: str = ""
    model_name: str = "heart"
    model_version: str = ""
    mlflow_run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = MANIFEST_FILE) -> Manifest:
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ManifestError(f"{source}: not a valid model manifest ({exc})") from exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def read(model_dir: Path) -> Manifest:
    path = model_dir / MANIFEST_FILE
    if not path.is_file():
        raise ManifestError(f"{path}: missing (expected {MANIFEST_FILE} beside {MODEL_FILE})")
    return Manifest.from_json(path.read_text(), str(path))


def verify(model_dir: Path, sklearn_version: str) -> Manifest:
    """Read the manifest and check ``model.joblib`` against it, unpickling nothing.

    Raises :class:`ManifestError` on a missing file, a sha256 mismatch or a
    scikit-learn major.minor that differs from the one that trained the model.
    """
    manifest = read(model_dir)
    model_path = model_dir / MODEL_FILE
    if not model_path.is_file():
        raise ManifestError(f"{model_path}: missing")
    actual = sha256_file(model_path)
    if actual != manifest.sha256:
        raise ManifestError(
            f"{model_path}: sha256 {actual} does not match {MANIFEST_FILE} ({manifest.sha256});"
            " refusing to load a modified model"
        )
    if major_minor(sklearn_version) != major_minor(manifest.sklearn_version):
        raise ManifestError(
            f"{model_path}: trained with scikit-learn {manifest.sklearn_version},"
            f" this server has {sklearn_version}; major.minor must match"
        )
    return manifest

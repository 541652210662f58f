"""``model.json``: the manifest that travels beside the model files.

Training writes it; the predictor reads it, checks its fields, and verifies
the file it is about to load against the digest recorded here before
loading anything (:func:`verify`). Standard library only, so training,
serving and tests share it without heavy imports.

A model directory holds ``model.joblib`` (the plain scikit-learn Pipeline,
which KServe's stock sklearn runtime and MLServer load too), ``model.onnx``
(the same Pipeline compiled by skl2onnx at export, with its parity evidence
here) and ``model.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from serving import profile

MODEL_FILE = "model.joblib"
ONNX_FILE = "model.onnx"
MANIFEST_FILE = "model.json"
#: Bumped when the manifest's fields change incompatibly (2: model.onnx, 3:
#: reference_profile, 4: train_sites, loso and champion_rule; servers before
#: each refuse the new fields as unknown).
FORMAT_VERSION = 4
_SHA256_HEX = 64


class ManifestError(ValueError):
    """The model directory cannot be trusted; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """Everything a server needs to know about the model files.

    ``threshold`` turns P(disease) into a label; ``threshold_rule`` says how
    it was chosen. ``model_version`` is the MLflow registry version (a string,
    "" when unregistered). ``metrics`` are the cross-validated scores.
    ``sha256`` is ``model.joblib``'s digest. ``onnx_sha256`` is ``model.onnx``'s
    ("" when the export has none, ``onnx_error`` saying why), ``onnx_parity``
    the evidence that it answers as the Pipeline does (rows checked, max
    |dp|, label agreement at ``threshold``), ``onnx_positive_column`` the
    column of P(disease) in its ``probabilities`` output. ``reference_profile``
    describes the training rows feature by feature (:mod:`serving.profile`;
    ``{}`` when the export had no data): the transformer scores drift against it.
    ``train_sites`` are the UCI sites the model was fitted on; ``loso`` holds
    its leave-one-site-out scores: held-out site -> ``{"rows": n, "auc" |
    "brier" | "calibration_slope" | "calibration_intercept": {"value",
    "ci_low", "ci_high"}}``; ``champion_rule`` says how it was chosen.
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
    onnx_sha256: str = ""
    onnx_positive_column: int = 1
    onnx_parity: dict[str, Any] = field(default_factory=dict)
    onnx_error: str = ""
    reference_profile: dict[str, Any] = field(default_factory=dict)
    train_sites: list[str] = field(default_factory=list)
    loso: dict[str, Any] = field(default_factory=dict)
    champion_rule: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = MANIFEST_FILE) -> Manifest:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ManifestError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ManifestError(f"{source}: not a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ManifestError(f"{source}: unknown fields {unknown}")
        try:
            manifest = cls(**data)
        except TypeError as exc:
            raise ManifestError(f"{source}: not a valid model manifest ({exc})") from None
        problems = manifest.problems()
        if problems:
            raise ManifestError(f"{source}: {'; '.join(problems)}")
        return manifest

    def problems(self) -> list[str]:
        """Every field whose type or value a server cannot work with."""
        found = []
        order = self.feature_order
        if not (isinstance(order, list) and order and all(isinstance(n, str) and n for n in order)):
            found.append("feature_order must be a non-empty list of names")
        elif len(set(order)) != len(order):
            found.append("feature_order names a feature twice")
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            found.append(f"threshold must be a number, got {type(threshold).__name__}")
        elif not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
            found.append(f"threshold must be in [0, 1], got {threshold}")
        for name in ("contract_hash", "sha256"):
            if not _is_sha256(getattr(self, name)):
                found.append(f"{name} must be 64 hex digits")
        if self.onnx_sha256 and not _is_sha256(self.onnx_sha256):
            found.append("onnx_sha256 must be 64 hex digits")
        for name in (
            "sklearn_version",
            "model_version",
            "model_family",
            "onnx_error",
            "champion_rule",
        ):
            if not isinstance(getattr(self, name), str):
                found.append(f"{name} must be a string")
        sites = self.train_sites
        if not (isinstance(sites, list) and all(isinstance(s, str) for s in sites)):
            found.append("train_sites must be a list of site names")
        found += _loso_problems(self.loso)
        if self.onnx_positive_column not in (0, 1) or isinstance(self.onnx_positive_column, bool):
            found.append("onnx_positive_column must be 0 or 1")
        found += profile.problems(self.reference_profile, order if isinstance(order, list) else [])
        if self.format_version not in (1, 2, 3, FORMAT_VERSION):
            found.append(f"format_version {self.format_version} is not one this server reads")
        return found


def _loso_problems(loso: object) -> list[str]:
    """``loso`` must map site names to objects with an integer ``rows``."""
    if not isinstance(loso, dict):
        return ["loso must be an object of held-out sites"]
    for site, scores in loso.items():
        if not isinstance(scores, dict) or not isinstance(scores.get("rows"), int):
            return [f"loso[{site!r}] must be an object with an integer 'rows'"]
    return []


def _is_sha256(value: object) -> bool:
    if not isinstance(value, str) or len(value) != _SHA256_HEX:
        return False
    return all(c in "0123456789abcdef" for c in value)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
        raise ManifestError(f"{MANIFEST_FILE} is missing (expected beside the model files)")
    return Manifest.from_json(path.read_text(encoding="utf-8", errors="replace"), MANIFEST_FILE)


def verified_bytes(model_dir: Path, name: str, expected: str) -> bytes:
    """The bytes of ``model_dir/name`` once they hash to ``expected`` (read once: what is
    checked is what is loaded)."""
    path = model_dir / name
    if not path.is_file():
        raise ManifestError(f"{name} is missing")
    data = path.read_bytes()
    if sha256_bytes(data) != expected:
        raise ManifestError(
            f"{name} does not match the sha256 recorded in {MANIFEST_FILE};"
            " refusing to load a modified model"
        )
    return data


def model_files(manifest: Manifest) -> list[str]:
    """The files a directory with ``manifest`` holds, ``model.json`` last."""
    return [MODEL_FILE, *([ONNX_FILE] if manifest.onnx_sha256 else []), MANIFEST_FILE]


def verify_files(model_dir: Path) -> Manifest:
    """Read the manifest and check every model file it names against its digest.

    For copying or uploading a directory: nothing is loaded or unpickled.
    """
    manifest = read(model_dir)
    verified_bytes(model_dir, MODEL_FILE, manifest.sha256)
    if manifest.onnx_sha256:
        verified_bytes(model_dir, ONNX_FILE, manifest.onnx_sha256)
    return manifest


def verify(model_dir: Path, sklearn_version: str) -> Manifest:
    """Read the manifest and check ``model.joblib`` against it, unpickling nothing.

    Raises :class:`ManifestError` on a missing file, a sha256 mismatch or a
    scikit-learn major.minor that differs from the one that trained the model.
    """
    manifest = read(model_dir)
    verified_bytes(model_dir, MODEL_FILE, manifest.sha256)
    check_sklearn(manifest, sklearn_version)
    return manifest


def check_sklearn(manifest: Manifest, sklearn_version: str) -> None:
    if major_minor(sklearn_version) != major_minor(manifest.sklearn_version):
        raise ManifestError(
            f"{MODEL_FILE} was trained with scikit-learn {manifest.sklearn_version},"
            f" this server has {sklearn_version}; major.minor must match"
        )

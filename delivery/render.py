"""Find and render every kustomization under ``manifests/``.

The offline checks and ``make validate`` use this, so a new overlay or a new
component (e.g. ``manifests/ray/``) is covered without registering it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: Stand-ins so the Secret generators render when the environment lacks the
#: variables; real values in the environment always win.
RENDER_ENV = {
    "AWS_ACCESS_KEY_ID": "render-only",
    "AWS_SECRET_ACCESS_KEY": "render-only",
    "MINIO_ROOT_USER": "render-only",
    "MINIO_ROOT_PASSWORD": "render-only",
}


@dataclass(frozen=True)
class Kustomization:
    path: Path
    kind: str  # "Kustomization" or "Component"

    @property
    def is_component(self) -> bool:
        return self.kind == "Component"


def discover(root: Path) -> list[Kustomization]:
    """Every kustomization below ``root``, sorted by path."""
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in KUSTOMIZATION_FILES:
            if name in files:
                doc = yaml.safe_load((Path(dirpath) / name).read_text()) or {}
                found.append(Kustomization(Path(dirpath), doc.get("kind", "Kustomization")))
                break
    return sorted(found, key=lambda k: str(k.path))


def render(path: Path, env: Mapping[str, str] | None = None) -> str:
    """``kubectl kustomize path``; raises CalledProcessError with stderr."""
    full_env = {**RENDER_ENV, **os.environ, **(env or {})}
    result = subprocess.run(
        ["kubectl", "kustomize", str(path)],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise subprocess.CalledProcessError(
            result.returncode, result.args, result.stdout, result.stderr
        )
    return result.stdout


def documents(text: str) -> Iterator[dict[str, Any]]:
    """The non-empty objects of a multi-document YAML stream."""
    for doc in yaml.safe_load_all(text):
        if doc:
            yield doc


def referenced_components(kustomization: Kustomization) -> list[Path]:
    """The components an overlay lists, as resolved paths."""
    for name in KUSTOMIZATION_FILES:
        file = kustomization.path / name
        if file.exists():
            doc = yaml.safe_load(file.read_text()) or {}
            return [(kustomization.path / c).resolve() for c in doc.get("components", [])]
    return []


def referenced_overlays(kustomization: Kustomization) -> list[Path]:
    """The kustomization directories an overlay lists as resources."""
    for name in KUSTOMIZATION_FILES:
        file = kustomization.path / name
        if file.exists():
            doc = yaml.safe_load(file.read_text()) or {}
            paths = [(kustomization.path / r).resolve() for r in doc.get("resources", [])]
            return [p for p in paths if any((p / n).exists() for n in KUSTOMIZATION_FILES)]
    return []

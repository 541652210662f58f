"""docs/cluster.md states the checkov skips as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _cluster_page() -> str:
    return (REPO / "docs" / "cluster.md").read_text()


def _skip_sets() -> dict[str, set[tuple[str, ...]]]:
    """manifest folder -> the distinct sets of skipped check IDs of its objects."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for path in sorted((REPO / "manifests").rglob("*.yaml")):
        for match in re.finditer(r"((?:\s+checkov\.io/skip\d+: .+\n)+)", path.read_text()):
            ids = tuple(sorted(re.findall(r"checkov\.io/skip\d+: (CKV2?_K8S_\d+)=", match[1])))
            folder = str(path.parent.relative_to(REPO))
            found.setdefault(folder, set()).add(ids)
    return found


def test_every_checkov_skip_has_a_reason() -> None:
    for path in (REPO / "manifests").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            text = yaml.safe_dump(doc or {})
            for line in re.findall(r"checkov\.io/skip\d+: (.*)", text):
                check, _, reason = line.partition("=")
                assert re.fullmatch(r"CKV2?_K8S_\d+", check), f"{path}: {line}"
                assert len(reason.split()) >= 3, f"{path}: {check} has no reason"


def test_cluster_page_names_every_skip_and_how_many() -> None:
    section = _cluster_page()
    skips = _skip_sets()
    assert {"manifests/ray", "manifests/overlays/kind/minio"} <= set(skips)
    for folder, sets in skips.items():
        for ids in sets:
            for check in ids:
                assert check in section, f"{folder}: {check} is skipped, the page does not say"
            assert f"{WORDS[len(ids)]} on" in section, f"{folder}: {len(ids)} skips"
    assert "manifests/ray" in section

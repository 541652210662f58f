"""What the GitHub workflows must do that actionlint cannot check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def _steps(workflow: str, job: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((REPO / ".github/workflows" / workflow).read_text())
    return list(doc["jobs"][job]["steps"])


def _index(steps: list[dict[str, Any]], command: str) -> int:
    found = [i for i, s in enumerate(steps) if re.search(rf"^{command}$", s.get("run", ""), re.M)]
    assert len(found) == 1, f"expected one step running {command!r}"
    return found[0]


def _data_cache() -> str:
    match = re.search(r"^DATA_CACHE \?= (\S+)$", (REPO / "mk/training.mk").read_text(), re.M)
    assert match, "mk/training.mk no longer defines DATA_CACHE"
    return match[1]


def test_ci_runs_the_tests_that_need_the_uci_data() -> None:
    """conftest's data_source fixture skips the Cleveland parity and training
    quality tests without HEART_DATA_SOURCE: ci fetches the files first and
    points make test at them."""
    steps = _steps("ci.yml", "test")
    data, test = _index(steps, "make data"), _index(steps, "make test")
    assert data < test
    assert "HEART_DATA_SOURCE" not in steps[data].get("env", {}), "make data fetches from UCI"
    source = steps[test].get("env", {}).get("HEART_DATA_SOURCE")
    assert source == "${{ github.workspace }}/" + _data_cache()


def test_e2e_asserts_versions_and_shares_after_each_canary_step() -> None:
    """A canary step only counts when the answers show it: both model versions
    in about the canary's share, all on the new one after promote, all on the
    stable one after rollback (delivery/traffic.py)."""
    script = "\n".join(s.get("run", "") for s in _steps("e2e-kind.yml", "e2e"))
    lines = [line.strip() for line in script.splitlines()]
    expect = {
        "make canary VERSION=v2 PERCENT=10": 'make traffic EXPECT="$MV1=90 $MV2=10"',
        "make promote": 'make traffic EXPECT="$MV2=100"',
        "make canary VERSION=v1 PERCENT=20": 'make traffic EXPECT="$MV2=80 $MV1=20"',
        "make rollback": 'make traffic EXPECT="$MV2=100"',
    }
    for step, check in expect.items():
        assert lines.count(step) == 1, step
        assert lines[lines.index(step) + 1] == check, step
    assert 'test "$code" -eq 3' in script  # make deploy refuses to undo the promote

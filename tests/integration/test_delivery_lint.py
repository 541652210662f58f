"""hadolint on the Dockerfiles, shellcheck on every script, actionlint on
the workflows: the linters ship as wheels (or a Go module) and run here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ACTIONLINT = Path(os.environ.get("HEART_ACTIONLINT", REPO / ".venv/tools/bin/actionlint"))
SKIP_DIRS = {".venv", ".git", "node_modules", ".venv-mlserver"}


def _files(pattern: str) -> list[Path]:
    return sorted(p for p in REPO.rglob(pattern) if not SKIP_DIRS & set(p.relative_to(REPO).parts))


def _run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


def test_dockerfiles_pass_hadolint() -> None:
    dockerfiles = _files("Dockerfile") + _files("*.Dockerfile")
    assert {p.parent.name for p in dockerfiles} >= {"predictor", "transformer"}
    result = _run(BIN / "hadolint", *dockerfiles)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripts_pass_shellcheck() -> None:
    scripts = _files("*.sh")
    assert scripts
    result = _run(BIN / "shellcheck", "-x", *[p.relative_to(REPO) for p in scripts])
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_actionlint() -> None:
    actionlint = ACTIONLINT if ACTIONLINT.exists() else shutil.which("actionlint")
    if not actionlint:
        pytest.skip(f"actionlint not built at {ACTIONLINT}: run `make validate` (or make test)")
    workflows = _files("*.yml")
    workflows = [w for w in workflows if ".github/workflows" in str(w)]
    assert len(workflows) >= 3
    shellcheck = f"{BIN / 'shellcheck'}"
    result = _run(actionlint, "-shellcheck", shellcheck, *workflows)
    assert result.returncode == 0, result.stdout + result.stderr

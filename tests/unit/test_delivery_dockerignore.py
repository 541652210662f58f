"""Every COPY source of every Dockerfile reaches the build context.

All images build with the repository root as context, filtered by the root
.dockerignore; a source it excludes fails only at ``docker build`` (which
does not run here). The matcher follows Docker's rules (moby/patternmatcher):
patterns in order, the last match wins, ``!`` re-includes, a pattern that
matches a parent directory matches everything below it, ``*`` and ``?`` stop
at ``/``, ``**`` crosses directories.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", ".git", "node_modules", ".venv-mlserver"}


def _regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        else:
            char = pattern[i]
            out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
            i += 1
    return re.compile(f"^{out}$")


def load_patterns(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(re-include?, regex) per line, comments and blanks dropped."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        cleaned = line.lstrip("!").strip().strip("/")
        patterns.append((negate, _regex(re.sub(r"/+", "/", cleaned) or ".")))
    return patterns


def excluded(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negate, regex in patterns:
        if any(regex.match(p) for p in prefixes):
            result = not negate
    return result


def copy_sources(dockerfile: Path) -> list[str]:
    """Context paths of COPY/ADD (not COPY --from=stage)."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        flags = [w for w in words[1:] if w.startswith("--")]
        if any(f.startswith("--from") for f in flags):
            continue
        sources += [w for w in words[1:] if not w.startswith("--")][:-1]
    return sources


def _dockerfiles() -> list[Path]:
    return sorted(
        p
        for p in REPO.rglob("*Dockerfile*")
        if p.is_file() and not SKIP_DIRS & set(p.relative_to(REPO).parts)
    )


def _tracked(directory: str) -> list[str]:
    result = subprocess.run(
        ["git", "ls-files", directory], capture_output=True, text=True, cwd=REPO, check=True
    )
    return result.stdout.split()


IGNORE = (REPO / ".dockerignore").read_text()
PATTERNS = load_patterns(IGNORE)
#: The allow-list part: every rule but the "**/..." junk rules (caches, tests,
#: Dockerfiles) that apply everywhere.
ALLOW_LIST = load_patterns(
    "\n".join(line for line in IGNORE.splitlines() if not line.lstrip("!").startswith("**/"))
)


@pytest.mark.parametrize(
    ("path", "lines", "expected"),
    [
        ("training/data.py", "*\n!training/\n", False),
        ("training/data.py", "*\n", True),
        ("docs/a.md", "*\n!training/\n", True),
        ("predictor/__pycache__/x.pyc", "*\n!predictor/\n**/__pycache__\n", True),
        ("predictor/tests/t.py", "*\n!predictor\n**/tests\n", True),
        ("a/b/c.txt", "a/*.txt\n", False),
        ("a/c.txt", "a/*.txt\n", True),
        ("README.md", "*\n!README.md\n", False),
    ],
)
def test_matcher_follows_docker_rules(path: str, lines: str, expected: bool) -> None:
    assert excluded(path, load_patterns(lines)) is expected


def test_all_dockerfiles_are_found() -> None:
    names = {str(p.relative_to(REPO)) for p in _dockerfiles()}
    assert {"predictor/Dockerfile", "transformer/Dockerfile", "manifests/ray/Dockerfile"} <= names


@pytest.mark.parametrize("dockerfile", _dockerfiles(), ids=lambda p: str(p.relative_to(REPO)))
def test_copy_sources_are_in_the_build_context(dockerfile: Path) -> None:
    sources = copy_sources(dockerfile)
    assert sources, f"{dockerfile} copies nothing from the context"
    for source in sources:
        assert (REPO / source).exists(), f"{dockerfile}: {source} does not exist"
        assert not excluded(source, PATTERNS), f"{dockerfile}: .dockerignore excludes {source}"
        files = _tracked(source) if (REPO / source).is_dir() else [source]
        dropped = [f for f in files if excluded(f, ALLOW_LIST)]
        assert dropped == [], f"{dockerfile}: .dockerignore keeps {dropped} out of {source}"

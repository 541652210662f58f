"""training/ and batch/ import each other's modules without a cycle.

The old CLI was one (cli -> commands -> tune_cli -> cli). Type-only imports
(``if TYPE_CHECKING:``) aside, read from the source with ``ast``; which
package may import which (training never imports batch) is import-linter's
job in ``make lint`` (pyproject.toml).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit
PACKAGES = ("training", "batch")


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> set[str]:
    """Project modules ``path`` imports when it runs (not under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for package in PACKAGES for p in (REPO / package).rglob("*.py")}
    return {name: _runtime_imports(path) & set(files) for name, path in files.items()}


def test_no_import_cycle() -> None:
    graph = _graph()
    assert len(graph) > 30 and graph["training.cli"]  # the walk found the modules

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path and (found := cycle_from(start, [*path, nxt])):
                return found
        return None

    cycles = [c for module in sorted(graph) if (c := cycle_from(module, [module]))]
    assert cycles == []

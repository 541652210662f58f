"""Each pyproject extra installs what its package's modules import.

``pip install '.[loadtest]'`` must be enough to import and run ``loadtest``:
every third-party module imported anywhere in the package, or in the project
modules it imports (transitively, lazy imports in functions included; only
``if TYPE_CHECKING:`` blocks are skipped), must come from a distribution in
the extra's dependency closure. The closure is computed from the installed
distributions' own metadata (``importlib.metadata.requires``, markers
evaluated for the extras each requirement asks for).
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

pytestmark = pytest.mark.unit

PROJECT = "heart-kserve"
#: Component package -> the extra a user installs to run it.
COMPONENT_EXTRAS = {
    "transformer": "transformer",
    "predictor": "predictor",
    "training": "training",
    "loadtest": "loadtest",
    "delivery": "delivery",
    "batch": "batch",
    "monitoring": "monitoring",
}
PACKAGES = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}


def imports_of(path: Path) -> Iterator[str]:
    """Absolute module names ``path`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def module_file(name: str) -> Path | None:
    """The project file of module ``name`` (None: not a project module)."""
    parts = name.split(".")
    if parts[0] not in PACKAGES:
        return None
    base = REPO.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports(package: str) -> dict[str, str]:
    """Top-level third-party module -> the project module that imports it first."""
    todo = sorted(REPO.joinpath(package).rglob("*.py"))
    seen: set[Path] = set()
    found: dict[str, str] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path):
            top = name.split(".")[0]
            target = module_file(name)
            if target is not None:
                todo.append(target)
            elif top not in PACKAGES and top not in sys.stdlib_module_names:
                found.setdefault(top, str(path.relative_to(REPO)))
    return found


@cache
def packages_distributions() -> dict[str, list[str]]:
    return dict(md.packages_distributions())


def project_requirements(extra: str) -> list[str]:
    """The project's own requirements for ``extra``, read from pyproject.toml (not from an
    installed copy that may predate the last edit)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"][extra]]


@cache
def closure(requirement: str) -> frozenset[str]:
    """Canonical distribution names ``requirement`` installs (itself included)."""
    req = Requirement(requirement)
    name = str(canonicalize_name(req.name))
    found: set[str] = {name}
    if name == PROJECT:
        for extra in req.extras:
            for line in project_requirements(extra):
                found |= closure(line)
        return frozenset(found)
    extras = set(req.extras) | {""}
    for line in md.requires(req.name) or []:
        child = Requirement(line)
        if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
            found |= closure(str(child).split(";")[0])
    return frozenset(found)


def extra_closure(extra: str) -> frozenset[str]:
    return closure(f"{PROJECT}[{extra}]")


def distributions_of(module: str) -> list[str]:
    return [canonicalize_name(d) for d in packages_distributions().get(module, [])]


@pytest.mark.parametrize(("package", "extra"), sorted(COMPONENT_EXTRAS.items()))
def test_the_extra_installs_every_import_of_its_package(package: str, extra: str) -> None:
    installed = extra_closure(extra)
    missing = {
        module: where
        for module, where in third_party_imports(package).items()
        if not set(distributions_of(module)) & installed
    }
    assert not missing, f"pip install '.[{extra}]' lacks what these import: {missing}"


def test_every_component_has_an_extra() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = declared["optional-dependencies"]
    components = PACKAGES - {"serving"}  # serving/ ships inside both servers' extras
    assert components <= set(COMPONENT_EXTRAS)
    assert set(COMPONENT_EXTRAS.values()) <= set(extras)


def test_the_check_sees_a_missing_distribution() -> None:
    """delivery's extra does not install ONNX Runtime, which the predictor imports."""
    assert "onnxruntime" in third_party_imports("predictor")
    assert "onnxruntime" not in extra_closure("delivery")

"""``make help`` lists every target that has a ``## text`` help line, in groups
in lifecycle order, and is what a bare ``make`` prints."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit

LIFECYCLE = ["Data", "Train", "Serve", "Cluster", "Load", "Develop"]
HELP_LINE = re.compile(r"^([a-zA-Z0-9_-]+):.*?## (.+)$", flags=re.MULTILINE)


def make(*goals: str) -> str:
    # Without the variables a parent make (`make test`) passes to its children.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(
        ["make", *goals], cwd=REPO, env=env, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def documented_targets() -> dict[str, str]:
    """target -> help text, read from the Makefile and mk/*.mk themselves."""
    found: dict[str, str] = {}
    for path in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        for target, text in HELP_LINE.findall(path.read_text()):
            assert target not in found, f"{target} has two help lines"
            found[target] = text.strip()
    return found


def listed_groups(output: str) -> list[tuple[str, dict[str, str]]]:
    """[(group, {target: help text})] in the order ``make help`` prints them."""
    groups: list[tuple[str, dict[str, str]]] = []
    for line in output.splitlines()[1:]:
        if line.startswith("  "):
            target, text = line.strip().split(maxsplit=1)
            groups[-1][1][target] = text
        elif line:
            groups.append((line, {}))
    return groups


@pytest.fixture(scope="module")
def groups() -> list[tuple[str, dict[str, str]]]:
    return listed_groups(make("help"))


def test_groups_come_in_lifecycle_order(groups: list[tuple[str, dict[str, str]]]) -> None:
    assert [name for name, _ in groups] == LIFECYCLE


def test_every_target_with_a_help_line_is_listed_once_with_it(
    groups: list[tuple[str, dict[str, str]]],
) -> None:
    listed = [(target, text) for _, targets in groups for target, text in targets.items()]
    assert len(listed) == len(dict(listed)), "a target is listed twice"
    assert dict(listed) == documented_targets()


@pytest.mark.parametrize(
    ("group", "targets"),
    [
        ("Data", ["data", "eda"]),
        ("Train", ["train", "tune", "tune-space"]),
        ("Serve", ["serve", "predict", "demo", "score"]),
        ("Cluster", ["kind-up", "images", "deploy", "smoke", "canary", "promote", "rollback"]),
        ("Load", ["loadtest", "bench", "bench-quick"]),
        ("Develop", ["test", "lint", "typecheck", "docs", "clean", "help"]),
    ],
)
def test_each_stage_holds_its_targets(
    groups: list[tuple[str, dict[str, str]]], group: str, targets: list[str]
) -> None:
    assert set(targets) <= set(dict(groups)[group])


def test_a_bare_make_prints_the_help() -> None:
    assert make() == make("help")

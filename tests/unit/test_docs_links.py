"""The README and docs/ stay navigable: every relative link reaches a file,
every ``#anchor`` a heading of its page, and every page is linked from the README.

Heading ids are computed as GitHub renders them: html-pipeline's
``TableOfContentsFilter`` (gjtorikian/html-pipeline,
``lib/html/pipeline/toc_filter.rb``) lower-cases the heading's text, removes
every character but word characters, ``-`` and spaces, turns spaces into
``-`` and appends ``-1``, ``-2``... to a repeated id; GitHub Docs, "Basic
writing and formatting syntax", section "Section links", states the same rules.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", flags=re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", flags=re.MULTILINE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """The Markdown without fenced code blocks and code spans (no links there)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path, root: Path) -> list[str]:
    """Each relative link of ``page`` that misses its file or its anchor."""
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        dest = (root / path.lstrip("/")) if path.startswith("/") else page.parent / path
        dest = dest if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with id '{anchor}' in {dest.name}")
        elif not dest.resolve().is_relative_to(root.resolve()):
            broken.append(f"{target}: outside the repository")
    return broken


@pytest.mark.parametrize("page", pages(REPO), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page, REPO) == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = REPO / "README.md"
    linked = {
        (readme.parent / target.partition("#")[0]).resolve()
        for target in LINK.findall(prose(readme.read_text()))
        if not SCHEME.match(target)
    }
    unlinked = [p.name for p in pages(REPO)[1:] if p.resolve() not in linked]
    assert unlinked == []


def test_the_readme_keeps_make_test_as_the_test_command() -> None:
    quickstart = (REPO / "README.md").read_text().split("## Quickstart", 1)[1]
    assert re.search(r"^make test\b", quickstart, flags=re.MULTILINE)


def test_broken_files_and_anchors_are_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# A page\n\n## Tuning: `make tune`\n\n## Same\n\n## Same\n"
    )
    (tmp_path / "README.md").write_text(
        "[ok](docs/a.md#tuning-make-tune) [ok](docs/a.md#same-1) [ok](#top) [web](https://x.org/y)\n"
        "[gone](docs/b.md) [bad anchor](docs/a.md#tuning) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n\n# Top\n"
    )
    assert broken_links(tmp_path / "README.md", tmp_path) == [
        "docs/b.md: no such file",
        "docs/a.md#tuning: no heading with id 'tuning' in a.md",
    ]

"""The generated results block of ``docs/performance.md``.

The block sits between :data:`BEGIN` and :data:`END`; ``make bench`` (and
``make bench-docs``) rewrite it from ``reports/bench/latest.json``, and a
unit test checks that the page and the committed JSON agree (a drift gate,
as for the contract table).
"""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- bench results: generated from reports/bench/latest.json by make bench-docs -->"
END = "<!-- end of bench results -->"


class MarkersMissingError(ValueError):
    """The page lacks the markers, or has them out of order."""


def split(page: str) -> tuple[str, str, str]:
    """``(before, block, after)`` around the markers of ``page``."""
    head, sep, rest = page.partition(BEGIN + "\n")
    block, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise MarkersMissingError(f"the page needs the lines {BEGIN!r} and {END!r}, in that order")
    return head, block, tail


def update(path: Path, block: str) -> None:
    """Replace the block in ``path`` with ``block``."""
    head, _, tail = split(path.read_text())
    path.write_text(f"{head}{BEGIN}\n{block.rstrip()}\n{END}{tail}")


def block(path: Path) -> str:
    """The block currently in ``path``."""
    return split(path.read_text())[1].rstrip()

"""docs/reliability.md gives the figures of the last ``make fuzz`` run, as recorded."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.fuzz.runner import figures_table

pytestmark = pytest.mark.unit

REPORT = REPO / "reports" / "fuzz" / "latest.json"


def test_the_page_quotes_the_recorded_run() -> None:
    data = json.loads(REPORT.read_text())
    page = (REPO / "docs" / "reliability.md").read_text()
    assert figures_table(data) in page, "re-run `make fuzz N=20000` and paste its table"
    assert data["requests"] >= 20_000
    for name in ("server_errors", "invalid_answered_200", "leaked_internals", "values_in_logs"):
        assert data[name] == 0, name

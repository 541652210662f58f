"""Structural fuzzing of every route of both servers (see tests/fuzz/cases.py).

``make test`` sends a few thousand cases; ``make fuzz N=20000`` as many as
asked (``FUZZ_N``), with ``FUZZ_SEED`` to replay a run and ``FUZZ_REPORT``
naming a JSON file for the figures (docs/reliability.md quotes the last one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fuzz.cases import generate
from tests.fuzz.conftest import BODY_LIMIT, Pair
from tests.fuzz.runner import figures_table, run

pytestmark = pytest.mark.fuzz

#: Cases per `make test` run: every family ~180 times, on a loaded 2-core machine ~20 s.
CI_CASES = 3000
#: What one bad request may add to the logs, on average (access line + one warning).
LOG_BYTES_PER_REQUEST = 2048


def test_no_input_gets_a_server_error_or_a_wrong_answer(fuzz_pair: Pair) -> None:
    n = int(os.environ.get("FUZZ_N") or CI_CASES)
    seed = int(os.environ.get("FUZZ_SEED") or 15)
    report = run(generate(n, seed, BODY_LIMIT), fuzz_pair.targets())
    print(f"\nseed {seed}\n" + report.summary())
    print(figures_table(json.loads(report.to_json())))
    if os.environ.get("FUZZ_REPORT"):
        Path(os.environ["FUZZ_REPORT"]).parent.mkdir(parents=True, exist_ok=True)
        Path(os.environ["FUZZ_REPORT"]).write_text(report.to_json())
    assert report.requests == n
    assert report.server_errors == 0, report.summary()
    assert report.invalid_answered_200 == 0, report.summary()
    assert report.valid_refused == 0, report.summary()
    assert report.leaked_internals == 0, report.summary()
    assert report.not_kserve_error_json == 0, report.summary()
    assert report.not_naming_the_field == 0, report.summary()
    assert report.values_in_logs == 0, report.summary()
    assert report.log_tracebacks == 0, report.summary()
    assert report.log_bytes_per_request < LOG_BYTES_PER_REQUEST, report.summary()
    # The repository routes were refused: the model is still there and ready.
    for server in (fuzz_pair.predictor, fuzz_pair.transformer):
        assert server.get("/v2/health/ready").status_code == 200
        assert server.get("/v2/models/heart/ready").status_code == 200

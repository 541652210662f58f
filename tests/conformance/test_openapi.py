"""The REST endpoints against the Open Inference Protocol's OpenAPI document, with schemathesis.

The document is read where CI has it, ``../shared/specs/open_inference_rest.yaml``
(``OIP_SPECS`` names another folder), and never copied. Its paths write
parameters as ``${MODEL_NAME}`` (the protocol's Markdown notation); they are
read as the OpenAPI template ``{MODEL_NAME}`` in memory, nothing else is
changed. For every operation schemathesis generates requests that fit the
document (positive) and, for the inference route, bodies that do not
(negative: a string path parameter has no invalid value), with the path
parameters either free or set to the served model and version, sends each
to every server, and runs its checks on the answer:

- ``not_a_server_error``: no 5xx, whatever the input;
- ``response_schema_conformance`` and ``content_type_conformance``: every
  documented answer (200, 400) has the documented media type and validates
  against the document's schema;
- ``negative_data_rejection``: a request that does not fit the document is
  refused with a 4xx.

Statuses the document does not list (404 for an unknown model or version,
503 while not ready) are the protocol's error objects and are not schema
violations; they are counted in the summary. Cases are derandomized
(the same every run) and bounded: about 1,100 per server.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi import checks as oas_checks

from tests.conformance.conftest import Reference, Target, v2_inputs
from tests.conftest import REPO
from transformer.synthetic import generate

pytestmark = [pytest.mark.conformance, pytest.mark.slow]

SPEC = (
    Path(os.environ.get("OIP_SPECS") or REPO.parent / "shared" / "specs")
    / "open_inference_rest.yaml"
)
#: Generated cases per operation and generation mode; 7 operations, 2 modes.
EXAMPLES = {"get": 50, "post": 300}
#: Cases of the inference route the model can score (see :func:`scored`).
SCORED = 450
MIN_CASES = 1000
CHECKS: dict[str, CheckFunction] = {
    "not_a_server_error": schemathesis.checks.not_a_server_error,
    "response_schema_conformance": oas_checks.response_schema_conformance,
    "content_type_conformance": oas_checks.content_type_conformance,
}
NEGATIVE_CHECKS: dict[str, CheckFunction] = {
    **CHECKS,
    "negative_data_rejection": oas_checks.negative_data_rejection,
}


def load_spec() -> Any:
    if not SPEC.is_file():
        pytest.fail(f"no OpenAPI document at {SPEC}: set OIP_SPECS to the specs folder")
    document = yaml.safe_load(SPEC.read_text())
    document["paths"] = {
        re.sub(r"\$\{(\w+)\}", r"{\1}", path): item for path, item in document["paths"].items()
    }
    return schemathesis.openapi.from_dict(document)


class Tally:
    """Cases sent, statuses seen, and every failed check with its case."""

    def __init__(self) -> None:
        self.cases = 0
        self.statuses: Counter[int] = Counter()
        self.checked: Counter[str] = Counter()
        self.failures: list[str] = []

    def run(self, case: Any, base_url: str, session: requests.Session, checks: dict) -> None:
        response = case.call(base_url=base_url, session=session, timeout=30)
        self.cases += 1
        self.statuses[response.status_code] += 1
        self.checked.update(list(checks))
        try:
            case.validate_response(response, checks=list(checks.values()))
        except (Failure, FailureGroup) as failed:
            where = f"{case.method} {case.formatted_path} -> {response.status_code}"
            found = failed.exceptions if isinstance(failed, FailureGroup) else [failed]
            self.failures += [f"{where}: {f.title}: {f.message}"[:1500] for f in found]


def fuzz(operation: Any, mode: schemathesis.GenerationMode, served: dict[str, str]) -> Any:
    """Cases of ``mode`` with path parameters free, or set to the served model and version."""
    free = operation.as_strategy(generation_mode=mode)
    if not operation.path_parameters:
        return free
    pinned = operation.as_strategy(generation_mode=mode, path_parameters=served)
    return st.one_of(pinned, free)


def scored(operation: Any, target: Target, served: dict[str, str]) -> Any:
    """Requests the model can score (so that 200 answers are checked too), varied around it.

    Patients drawn from the contract, a generated ``id``, ``outputs`` naming
    any subset of the model's outputs (or another name), free ``parameters``
    (``binary_data_output`` aside: a binary answer is the extension's, not
    the document's, media type).
    """
    names = st.sampled_from([*target.outputs, "other"])
    primitive = st.one_of(
        st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()
    )
    body = st.fixed_dictionaries(
        {"inputs": st.integers(0, 2**16).map(lambda seed: v2_inputs(target.kind, rows(seed)))},
        optional={
            "id": st.text(max_size=40),
            "outputs": st.lists(names.map(lambda n: {"name": n}), max_size=3, unique_by=str),
            "parameters": st.dictionaries(
                st.text(max_size=20).filter(lambda k: k != "binary_data_output"), primitive
            ),
        },
    )
    return body.map(
        lambda b: operation.Case(path_parameters=served, body=b, media_type="application/json")
    )


def rows(seed: int) -> Any:
    return generate(1 + seed % 3, seed=seed, missing_rate=0.1)


def sender(strategy: Any, examples: int, target: Target, tally: Tally, checks: dict) -> Any:
    """A hypothesis test sending ``examples`` cases drawn from ``strategy``."""
    session = requests.Session()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: Any) -> None:
        tally.run(case, target.server.url, session, checks)

    return send


def exercise(target: Target, reference: Reference) -> Tally:
    tally = Tally()
    served = {"MODEL_NAME": "heart", "MODEL_VERSION": reference.version}
    for result in load_spec().get_all_operations():
        operation = result.ok()
        examples = EXAMPLES[operation.method.lower()]
        positive = schemathesis.GenerationMode.POSITIVE
        sender(fuzz(operation, positive, served), examples, target, tally, CHECKS)()
        if len(operation.body):  # a string path parameter cannot be made invalid
            negative = schemathesis.GenerationMode.NEGATIVE
            sender(fuzz(operation, negative, served), examples, target, tally, NEGATIVE_CHECKS)()
            sender(scored(operation, target, served), SCORED, target, tally, CHECKS)()
    return tally


@pytest.mark.parametrize("name", ["predictor-onnx", "transformer-grpc"])
def test_rest_answers_follow_the_openapi_document(
    name: str, targets: dict[str, Target], reference: Reference
) -> None:
    tally = exercise(targets[name], reference)
    summary = (
        f"{name}: {tally.cases} cases, statuses {dict(sorted(tally.statuses.items()))},"
        f" checks run {dict(tally.checked)}, {len(tally.failures)} failures"
    )
    print(summary)
    assert not tally.failures, summary + "\n" + "\n".join(tally.failures[:10])
    assert tally.cases >= MIN_CASES, summary
    assert tally.statuses[200] > SCORED / 2, summary  # the model's answers were checked too

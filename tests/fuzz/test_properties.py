"""Contract-aware properties, with Hypothesis, against the running transformer.

- Any batch of records the contract allows is answered 200, with the risk
  and label the same model computes in this process (``predictor.inference``
  on ``transformer.validation``'s matrix), over v1 and v2.
- A record with one invalid value of any kind is answered 400 naming that
  field and row, in the message and in the ``problems`` list.

``make fuzz`` runs more examples (``FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor.inference import LoadedModel, load, predict
from serving.problems import ValidationError
from tests.fuzz.conftest import Pair
from transformer.contract import FEATURES, Feature
from transformer.validation import records_to_matrix

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 40)
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def value(feature: Feature) -> st.SearchStrategy[Any]:
    """A value the contract accepts for ``feature`` (code, label, number, or missing)."""
    allowed: st.SearchStrategy[Any]
    if feature.kind == "categorical":
        codes = sorted(feature.codes)
        labels = [feature.codes[c] for c in codes]
        upper = st.sampled_from(labels).map(str.upper)
        allowed = st.sampled_from(codes) | st.sampled_from(labels) | upper
    elif feature.integer:
        allowed = st.integers(int(feature.minimum or 0), int(feature.maximum or 0))
    else:
        numbers = st.floats(feature.minimum, feature.maximum, allow_nan=False)
        allowed = numbers.map(lambda x: round(x, 3))
    return allowed | st.none() if feature.nullable else allowed


RECORD = st.fixed_dictionaries({f.name: value(f) for f in FEATURES})
BATCH = st.lists(RECORD, min_size=1, max_size=6)


@functools.cache
def in_process(model_dir: Path) -> LoadedModel:
    return load(model_dir)


def expected(pair: Pair, records: list[dict[str, Any]]) -> tuple[np.ndarray, list[int]]:
    model = in_process(pair.model_dir)
    prediction = predict(model, records_to_matrix(records))
    return prediction.probability, prediction.label.tolist()


def v2_body(records: list[dict[str, Any]]) -> dict[str, Any]:
    inputs = []
    for feature in FEATURES:
        data = [r[feature.name] for r in records]
        text = any(isinstance(v, str) for v in data)
        inputs.append(
            {
                "name": feature.name,
                "datatype": "BYTES" if text else "FP64",
                "shape": [len(records)],
                "data": [str(v) if text and _is_code(v) else v for v in data],
            }
        )
    return {"inputs": inputs}


def _is_code(value: object) -> bool:
    """A categorical code beside labels in a BYTES column is sent as its decimal text."""
    return isinstance(value, int) and not isinstance(value, bool)


@PROPERTY
@given(records=BATCH)
def test_valid_records_get_the_in_process_answer_v1(fuzz_pair: Pair, records: list) -> None:
    response = httpx.post(
        fuzz_pair.transformer.url + "/v1/models/heart:predict",
        json={"instances": records},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    risk, labels = expected(fuzz_pair, records)
    served = response.json()["predictions"]
    np.testing.assert_allclose([p["risk"] for p in served], risk, atol=2e-6)
    assert [p["label"] for p in served] == ["disease" if x else "no disease" for x in labels]


@PROPERTY
@given(records=BATCH)
def test_valid_records_get_the_in_process_answer_v2(fuzz_pair: Pair, records: list) -> None:
    response = httpx.post(
        fuzz_pair.transformer.url + "/v2/models/heart/infer", json=v2_body(records), timeout=20
    )
    assert response.status_code == 200, response.text
    risk, labels = expected(fuzz_pair, records)
    outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
    np.testing.assert_allclose(outputs["risk"], risk, rtol=1e-6)
    assert outputs["label"] == ["disease" if x else "no disease" for x in labels]


def _invalid(feature: Feature) -> st.SearchStrategy[tuple[str, Any]]:
    """(kind, value) pairs ``feature`` must refuse."""
    kinds = [
        st.tuples(st.just("wrong type"), st.sampled_from([[1], {"a": 1}, True, False])),
        st.tuples(st.just("huge"), st.integers(10**309, 10**400)),
    ]
    if feature.kind == "categorical":
        codes = st.integers(-1000, 1000).filter(lambda c: c not in feature.codes)
        kinds.append(st.tuples(st.just("unknown code"), codes))
        kinds.append(st.tuples(st.just("unknown label"), st.sampled_from(["purple", "", "ok?"])))
    else:
        low, high = float(feature.minimum or 0), float(feature.maximum or 0)
        outside = st.floats(high + 1, 1e300) | st.floats(-1e300, low - 1)
        kinds.append(st.tuples(st.just("out of range"), outside))
        kinds.append(st.tuples(st.just("text"), st.sampled_from(["high", "12a", "?"])))
    if feature.integer and feature.kind == "numeric":
        fraction = st.floats(feature.minimum or 0, feature.maximum or 0).filter(
            lambda x: not float(x).is_integer()
        )
        kinds.append(st.tuples(st.just("not integer"), fraction))
    if not feature.nullable:
        kinds.append(st.tuples(st.just("missing"), st.just(None)))
    return st.one_of(kinds)


@st.composite
def one_bad_value(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, str, str]:
    records = draw(BATCH)
    row = draw(st.integers(0, len(records) - 1))
    feature = draw(st.sampled_from(FEATURES))
    kind, bad = draw(_invalid(feature))
    records[row][feature.name] = bad
    return records, row, feature.name, kind


@PROPERTY
@given(case=one_bad_value())
def test_each_invalid_kind_is_a_400_naming_its_field(fuzz_pair: Pair, case: tuple) -> None:
    records, row, name, kind = case
    response = httpx.post(
        fuzz_pair.transformer.url + "/v1/models/heart:predict",
        json={"instances": records},
        timeout=20,
    )
    assert response.status_code == 400, (kind, response.text)
    body = response.json()
    assert f"field '{name}'" in body["error"], (kind, body["error"])
    assert any(p["field"] == name and p["row"] == row for p in body["problems"]), (kind, body)


@PROPERTY
@given(case=one_bad_value())
def test_each_invalid_kind_is_a_400_naming_its_field_v2(fuzz_pair: Pair, case: tuple) -> None:
    records, _, name, kind = case
    body = v2_body(records)
    response = httpx.post(
        fuzz_pair.transformer.url + "/v2/models/heart/infer", json=body, timeout=20
    )
    assert response.status_code == 400, (kind, response.text)
    assert name in response.json()["error"], (kind, response.text)


@PROPERTY
@given(records=BATCH, case=one_bad_value())
def test_the_strategies_are_what_they_claim(records: list, case: tuple) -> None:
    """Without a server: generated records pass the contract, a bad value does not."""
    assert records_to_matrix(records).shape == (len(records), 13)
    bad, _, _, _ = case
    with pytest.raises(ValidationError):
        records_to_matrix(bad)

"""transformer.validation: records / columns -> matrix, or every problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from serving.problems import ValidationError, redacted
from transformer.contract import FEATURE_NAMES
from transformer.synthetic import generate, to_records
from transformer.validation import columns_to_matrix, records_to_matrix

pytestmark = pytest.mark.unit

GOOD = {
    "age": 61,
    "sex": 1,
    "cp": 4,
    "trestbps": 140,
    "chol": 260,
    "fbs": 0,
    "restecg": 2,
    "thalach": 120,
    "exang": 1,
    "oldpeak": 2.5,
    "slope": 2,
    "ca": 2,
    "thal": 7,
}


def problems(call, *args) -> list[tuple[int | None, str | None]]:
    with pytest.raises(ValidationError) as info:
        call(*args)
    return [(p.row, p.field) for p in info.value.problems]


def test_generated_records_round_trip() -> None:
    matrix = generate(50, seed=1, missing_rate=0.2)
    got = records_to_matrix(to_records(matrix))
    assert got.dtype == np.float32 and got.shape == (50, 13)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(matrix))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(matrix), atol=1e-4)


def test_columns_equal_records() -> None:
    records = to_records(generate(8, seed=2, missing_rate=0.1))
    columns = {name: [r[name] for r in records] for name in FEATURE_NAMES}
    np.testing.assert_array_equal(columns_to_matrix(columns), records_to_matrix(records))


def test_missing_nullable_is_nan_and_labels_map_to_codes() -> None:
    record = {"age": 50, "sex": "Female", "cp": "typical angina", "thal": "reversible defect"}
    row = records_to_matrix([record])[0]
    assert row[FEATURE_NAMES.index("sex")] == 0
    assert row[FEATURE_NAMES.index("cp")] == 1
    assert row[FEATURE_NAMES.index("thal")] == 7
    assert math.isnan(row[FEATURE_NAMES.index("chol")])


def test_every_problem_is_reported_with_row_and_field() -> None:
    bad = [GOOD, {**GOOD, "age": 10, "sex": 5, "bmi": 3}, {**GOOD, "chol": math.inf}]
    found = problems(records_to_matrix, bad)
    assert found == [(1, "bmi"), (1, "age"), (1, "sex"), (2, "chol")]


def test_message_names_value_and_allowed_values() -> None:
    with pytest.raises(ValidationError) as info:
        records_to_matrix([{**GOOD, "cp": 9}])
    text = str(info.value)
    assert "row 0, field 'cp'" in text and "(got 9)" in text and "4 (asymptomatic)" in text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": None}, "age"),
        ({"age": math.nan}, "age"),
        ({"ca": 1.5}, "ca"),
        ({"oldpeak": "high"}, "oldpeak"),
        ({"fbs": True}, "fbs"),
        ({"thal": "purple"}, "thal"),
        ({"trestbps": -math.inf}, "trestbps"),
    ],
)
def test_single_bad_value(change: dict, field: str) -> None:
    assert problems(records_to_matrix, [{**GOOD, **change}]) == [(0, field)]


def test_required_field_absent() -> None:
    record = {k: v for k, v in GOOD.items() if k != "sex"}
    assert problems(records_to_matrix, [record]) == [(0, "sex")]
    columns = {k: [v] for k, v in record.items()}
    assert problems(columns_to_matrix, columns) == [(None, "sex")]


def test_batch_limits_and_shapes() -> None:
    assert problems(records_to_matrix, []) == [(None, None)]
    assert problems(records_to_matrix, [GOOD] * 3, 2) == [(None, None)]
    columns = {k: [v, v] for k, v in GOOD.items()} | {"age": [50]}
    assert (None, None) in problems(columns_to_matrix, columns)


def test_messages_are_bounded_but_every_problem_is_kept() -> None:
    bad = [{name: 987654.5 for name in FEATURE_NAMES}] * 1024  # 13 bad fields x 1024 rows
    with pytest.raises(ValidationError) as info:
        records_to_matrix(bad)
    assert len(info.value.problems) == 1024 * 13  # the batch scorer needs them all
    text = str(info.value)
    assert text.startswith("13312 problems in the request: row 0, field 'age'")
    assert text.endswith("; and 13292 more problems") and len(text) < 5000


def test_log_summary_has_counts_and_fields_never_values() -> None:
    with pytest.raises(ValidationError) as info:
        records_to_matrix([{**GOOD, "chol": 987654.5, "weight": 80}, {**GOOD, "age": 5}])
    text = redacted(info.value.problems, FEATURE_NAMES)
    assert text == "3 problem(s) in 2 rows; fields: age, chol + 1 unknown"
    assert "987654" not in text


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(ValidationError) as info:
        records_to_matrix([{**GOOD, "thal": "x" * 5000}])
    assert len(str(info.value)) < 400

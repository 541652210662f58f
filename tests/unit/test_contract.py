import math
import subprocess
import sys

import pytest

from transformer import contract
from transformer.contract import BY_NAME, CONTRACT_HASH, FEATURE_NAMES, FEATURES

pytestmark = pytest.mark.unit


def test_thirteen_fields_in_uci_order():
    uci = "age sex cp trestbps chol fbs restecg thalach exang oldpeak slope ca thal"
    assert list(FEATURE_NAMES) == uci.split()


def test_hash_is_stable_across_processes():
    out = subprocess.run(
        [sys.executable, "-c", "from transformer.contract import CONTRACT_HASH as h; print(h)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == CONTRACT_HASH
    assert len(CONTRACT_HASH) == 64


def test_hash_changes_when_a_range_changes(monkeypatch):
    changed = list(FEATURES)
    changed[0] = contract.Feature(
        "age", "Age", "numeric", "years", 18, 99, integer=True, nullable=False
    )
    monkeypatch.setattr(contract, "FEATURES", tuple(changed))
    assert contract._hash() != CONTRACT_HASH


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("age", math.nan, "required"),
        ("age", 17, "out of range"),
        ("age", 45.5, "integer"),
        ("chol", math.inf, "finite"),
        ("cp", 5, "allowed code"),
        ("thal", 4, "3 (normal), 6 (fixed defect), 7 (reversible defect)"),
        ("oldpeak", -3.5, "[-3, 10]"),
    ],
)
def test_check_explains_what_is_allowed(name, value, problem):
    message = BY_NAME[name].check(value)
    assert message is not None and problem in message


@pytest.mark.parametrize(
    ("name", "value"), [("chol", math.nan), ("oldpeak", -2.6), ("cp", 4), ("ca", 0)]
)
def test_check_accepts_valid_values(name, value):
    assert BY_NAME[name].check(value) is None


def test_labels_map_to_codes_case_insensitively():
    assert BY_NAME["sex"].code_for("Male") == 1
    assert BY_NAME["cp"].code_for(" asymptomatic ") == 4
    assert BY_NAME["thal"].code_for("7") == 7
    assert BY_NAME["thal"].code_for("unknown") is None


def test_row_to_vector_orders_fields_and_marks_missing():
    vector = contract.row_to_vector({"sex": 1, "age": 50, "chol": None})
    assert vector[:2] == [50.0, 1.0]
    assert math.isnan(vector[4]) and math.isnan(vector[12])

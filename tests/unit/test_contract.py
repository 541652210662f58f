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
    ("name", "value", "kind", "message", "allowed"),
    [
        ("age", math.nan, "missing", "required", "an integer in [18, 100] years"),
        ("age", 17, "out_of_range", "out of range", "[18, 100]"),
        ("age", 45.5, "not_integer", "integer", "an integer"),
        ("chol", math.inf, "not_finite", "finite", "[80, 700] mg/dl"),
        ("cp", 5, "unknown_code", "allowed code", "4 (asymptomatic)"),
        ("thal", 4, "unknown_code", "allowed code", "3 (normal), 6 (fixed defect), 7 (revers"),
        ("oldpeak", -3.5, "out_of_range", "out of range", "[-3, 10]"),
    ],
)
def test_check_says_what_is_wrong_as_a_record(name, value, kind, message, allowed):
    violation = BY_NAME[name].check(value)
    assert violation is not None
    assert violation.kind == kind and message in violation.message
    assert allowed in BY_NAME[name].allowed()


@pytest.mark.parametrize("name", ["chol", "trestbps"])
def test_zero_means_not_measured_where_the_contract_says_so(name):
    """The UCI files write 0 for a test nobody took: the contract reads it as missing."""
    feature = BY_NAME[name]
    assert feature.missing_values == (0,)
    assert math.isnan(feature.normalize(0.0)) and feature.check(feature.normalize(0.0)) is None
    assert feature.normalize(200.0) == 200.0
    assert "0 = not measured" in feature.allowed()
    assert BY_NAME["oldpeak"].normalize(0.0) == 0.0  # 0 is a real ST depression


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

"""The smoke checks reject replies a client could not use, naming output and row."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.smoke_checks import (
    PREDICTOR_OUTPUTS,
    TRANSFORMER_OUTPUTS,
    SmokeError,
    check,
    v2_outputs,
)

pytestmark = pytest.mark.unit


def _reply(risk: list[Any], label: list[Any]) -> dict[str, Any]:
    """A v2 REST reply as the transformer sends it."""
    return {
        "model_name": "heart",
        "outputs": [
            {"name": "risk", "shape": [len(risk)], "datatype": "FP32", "data": risk},
            {"name": "label", "shape": [len(label)], "datatype": "BYTES", "data": label},
        ],
    }


def test_a_good_reply_passes() -> None:
    reply = _reply([0.12, 0.97], ["no disease", "disease"])
    assert "2 rows" in check(v2_outputs(reply), 2, TRANSFORMER_OUTPUTS, "REST")


@pytest.mark.parametrize(
    ("risk", "label", "rows", "message"),
    [
        ([0.2, 1.3], ["disease", "disease"], 2, "output risk, row 1: 1.3 is not a probability"),
        ([-0.01], ["disease"], 1, "row 0: -0.01 is not a probability"),
        ([float("nan")], ["disease"], 1, "row 0: nan is not a probability"),
        (["0.5"], ["disease"], 1, "row 0: '0.5' is not a probability"),
        ([0.5], ["maybe"], 1, "output label, row 0: 'maybe' is not one of"),
        ([0.5], ["disease"], 2, "output risk has 1 values for 2 rows"),
    ],
)
def test_bad_replies_name_output_and_row(
    risk: list[Any], label: list[Any], rows: int, message: str
) -> None:
    with pytest.raises(SmokeError, match=message.replace("(", r"\(")):
        check(v2_outputs(_reply(risk, label)), rows, TRANSFORMER_OUTPUTS, "REST")


def test_missing_or_extra_outputs_fail() -> None:
    with pytest.raises(SmokeError, match=r"outputs \['risk'\], expected \['label', 'risk'\]"):
        check({"risk": [0.5]}, 1, TRANSFORMER_OUTPUTS, "REST")


def test_predictor_labels_are_classes() -> None:
    check({"probability": [0.4, 0.6], "label": [0, 1]}, 2, PREDICTOR_OUTPUTS, "gRPC")
    with pytest.raises(SmokeError, match="output label, row 1: 2 is not one of"):
        check({"probability": [0.4, 0.6], "label": [0, 2]}, 2, PREDICTOR_OUTPUTS, "gRPC")
    with pytest.raises(SmokeError, match="not a probability"):
        check({"probability": [True], "label": [1]}, 1, PREDICTOR_OUTPUTS, "gRPC")

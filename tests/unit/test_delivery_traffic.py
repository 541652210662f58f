"""The canary split measured from answers: shares within binomial bounds."""

from __future__ import annotations

import pytest

from delivery.traffic import check_shares, parse_expect

pytestmark = pytest.mark.unit


def test_expected_shares_parse_and_must_add_up() -> None:
    assert parse_expect(["3=90", "4=10"]) == {"3": 90.0, "4": 10.0}
    with pytest.raises(ValueError, match="add up to 80"):
        parse_expect(["3=70", "4=10"])
    with pytest.raises(ValueError, match="VERSION=PERCENT"):
        parse_expect(["90"])


def test_a_split_near_its_expectation_passes() -> None:
    assert check_shares({"3": 362, "4": 38}, {"3": 90, "4": 10}, sigmas=4) == []


def test_a_split_far_from_its_expectation_fails_with_the_counts() -> None:
    problems = check_shares({"3": 300, "4": 100}, {"3": 90, "4": 10}, sigmas=4)
    assert any("'4': 100/400 answers, expected 10 %" in p for p in problems)


def test_all_traffic_means_every_answer() -> None:
    assert check_shares({"4": 200}, {"4": 100}, sigmas=4) == []
    problems = check_shares({"4": 199, "3": 1}, {"4": 100}, sigmas=4)
    assert any("'3' answered 1 times, expected none" in p for p in problems)


def test_a_missing_canary_fails() -> None:
    assert check_shares({"3": 400}, {"3": 90, "4": 10}, sigmas=4)

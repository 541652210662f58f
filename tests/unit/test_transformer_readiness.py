"""transformer.readiness: readiness never waits for the predictor; one check in flight."""

from __future__ import annotations

import asyncio
import time

import pytest

from transformer.handshake import Handshake
from transformer.readiness import CachedCheck

pytestmark = pytest.mark.unit


class SlowCheck:
    """A check that takes ``seconds`` and counts its calls."""

    def __init__(self, seconds: float, result: Handshake | None = None) -> None:
        self.seconds, self.result, self.calls = seconds, result or Handshake(""), 0

    async def __call__(self) -> Handshake:
        self.calls += 1
        await asyncio.sleep(self.seconds)
        return self.result


def test_stale_result_is_answered_at_once_and_refreshed_once() -> None:
    async def scenario() -> tuple[int, float, list[str]]:
        check = SlowCheck(0.3)
        cached = CachedCheck(check, interval=0.05, deadline=2, first=Handshake("not yet"))
        began = time.monotonic()
        answers = [cached.current().reason for _ in range(30)]  # 30 callers find it stale
        waited = time.monotonic() - began
        await asyncio.sleep(0.4)
        return check.calls, waited, [*answers, cached.current().reason]

    calls, waited, answers = asyncio.run(scenario())
    assert calls == 1  # single flight
    assert waited < 0.05  # nobody waited for the predictor
    assert set(answers[:30]) == {"not yet"} and answers[30] == ""


def test_concurrent_refreshes_share_one_check() -> None:
    async def scenario() -> tuple[int, set[str]]:
        check = SlowCheck(0.1, Handshake("mismatch"))
        cached = CachedCheck(check, interval=5, deadline=2, first=Handshake("not yet"))
        results = await asyncio.gather(*(cached.refresh() for _ in range(20)))
        return check.calls, {r.reason for r in results}

    assert asyncio.run(scenario()) == (1, {"mismatch"})


def test_a_hung_or_failing_check_becomes_a_reason() -> None:
    async def scenario() -> tuple[str, str]:
        hung = CachedCheck(SlowCheck(10), interval=0, deadline=0.1, first=Handshake("-"))
        broken_check = SlowCheck(0)

        async def broken() -> Handshake:
            await broken_check()
            raise KeyError("inputs")

        broken_cache = CachedCheck(broken, interval=0, deadline=1, first=Handshake("-"))
        return (await hung.refresh()).reason, (await broken_cache.refresh()).reason

    hung, broken = asyncio.run(scenario())
    assert "did not finish within 0.1 s" in hung
    assert "KeyError" in broken

"""The transformer's readiness: the last predictor check, refreshed off the request path.

Kubernetes probes readiness with a 1 s timeout and every request asks too,
so :meth:`CachedCheck.current` never waits for the predictor: it answers
from the last result and, once that is older than ``interval`` seconds,
starts one refresh in the background. However many callers find the result
stale, at most one check is in flight (single flight); a hung predictor
costs one bounded check per interval, not one per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from transformer.handshake import Handshake

Check = Callable[[], Awaitable[Handshake]]


class CachedCheck:
    """The last :class:`Handshake` and the one refresh that may be running.

    ``check`` must finish within ``deadline`` seconds; a check that does not
    (or raises) counts as a failed one, with the reason.
    """

    def __init__(self, check: Check, interval: float, deadline: float, first: Handshake) -> None:
        self.check = check
        self.interval = interval
        self.deadline = deadline
        self.last = first
        self.checked_at = -float("inf")
        self._running: asyncio.Task[Handshake] | None = None

    def __getstate__(self) -> dict[str, object]:
        """Worker processes start without a task (tasks belong to one event loop)."""
        return {**self.__dict__, "_running": None}

    def current(self) -> Handshake:
        """The last result now; starts a background refresh when it is stale."""
        if self.stale() and self._running is None:
            self._running = asyncio.get_running_loop().create_task(self._refresh())
        return self.last

    async def refresh(self) -> Handshake:
        """Check now (joining a refresh already in flight) and return the result."""
        if self._running is None:
            self._running = asyncio.get_running_loop().create_task(self._refresh())
        return await asyncio.shield(self._running)

    def stale(self) -> bool:
        return time.monotonic() - self.checked_at >= self.interval

    async def _refresh(self) -> Handshake:
        try:
            self.last = await asyncio.wait_for(self.check(), self.deadline)
        except TimeoutError:
            self.last = Handshake(f"the predictor check did not finish within {self.deadline:g} s")
        except Exception as exc:  # a malformed metadata answer must not kill readiness
            self.last = Handshake(f"the predictor check failed: {type(exc).__name__}: {exc}")
        finally:
            self.checked_at = time.monotonic()
            self._running = None
        return self.last

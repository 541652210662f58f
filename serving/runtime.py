"""The event loop the servers run on.

KServe's ``--event-loop auto|asyncio|uvloop`` is handed to uvicorn, but a
single-process ``ModelServer.start`` runs its servers in ``asyncio.run()``:
the standard library's loop whatever the flag (uvicorn only picks the loop
in ``run()``, which the worker processes of ``--workers`` > 1 use).
:func:`run` starts the servers on the loop the flag names, chosen by
uvicorn's own ``Config.get_loop_factory`` (``auto``: uvloop when it is
importable), and sets KServe's exception handler and default executor on
that loop (upstream sets them on a loop ``asyncio.run`` then discards).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(event_loop: str) -> LoopFactory:
    """The loop factory uvicorn would use for KServe's ``--event-loop`` value."""
    factory = uvicorn.Config(app="kserve.model_server:app", loop=event_loop).get_loop_factory()
    return factory or asyncio.new_event_loop


def run(
    main: Callable[[], Coroutine[Any, Any, Any]],
    event_loop: str,
    setup: Callable[[], None],
) -> None:
    """Run ``main()`` on the ``event_loop`` loop, after ``setup()`` inside it."""

    async def serve() -> None:
        setup()
        await main()

    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        runner.run(serve())


def current_loop_kind() -> str:
    """``uvloop`` or ``asyncio``: the implementation of the running loop (for logs and tests)."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"

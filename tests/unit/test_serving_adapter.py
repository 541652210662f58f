"""serving.kserve_adapter: every KServe internal we override is listed, and unchanged.

A KServe release that changes a function one of our overrides replaces or
leans on fails here, naming it: re-read it, adapt the override, update its
digest in ``serving.kserve_adapter.UPSTREAM``.
"""

from __future__ import annotations

import hashlib
import inspect

import pytest

from serving import kserve_adapter

pytestmark = pytest.mark.unit


def digest(function: object) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("function", "recorded"), kserve_adapter.UPSTREAM, ids=lambda v: getattr(v, "__qualname__", "")
)
def test_upstream_function_is_the_one_the_override_was_written_for(
    function: object, recorded: str
) -> None:
    module = inspect.getmodule(function)
    where = f"{getattr(module, '__name__', '?')}.{getattr(function, '__qualname__', '?')}"
    assert digest(function) == recorded, (
        f"{where} changed upstream: re-read it, adapt serving/kserve_adapter.py,"
        f" then record {digest(function)}"
    )


def _overrides() -> list[tuple[str, object]]:
    """(our class.method, the upstream function it overrides) for every KServe base."""
    found = []
    for cls in vars(kserve_adapter).values():
        if not inspect.isclass(cls) or cls.__module__ != kserve_adapter.__name__:
            continue
        for name, member in vars(cls).items():
            if not inspect.isfunction(member):
                continue
            for base in cls.__mro__[1:]:
                upstream = vars(base).get(name)
                if upstream is not None and base.__module__.split(".")[0] == "kserve":
                    found.append((f"{cls.__name__}.{name}", upstream))
                    break
    return found


def test_every_override_of_a_kserve_method_is_listed() -> None:
    listed = {function for function, _ in kserve_adapter.UPSTREAM}
    overrides = _overrides()
    assert len(overrides) >= 10
    unlisted = [ours for ours, upstream in overrides if upstream not in listed]
    assert not unlisted, f"overrides of KServe methods missing from UPSTREAM: {unlisted}"


def test_a_changed_function_is_caught() -> None:
    """The check sees a one-character change in an upstream source."""

    def original() -> int:
        return 1

    recorded = digest(original)

    def original() -> int:  # type: ignore[no-redef]
        return 2

    assert digest(original) != recorded

"""Command lines for the tests that run our CLIs and other servers."""

from __future__ import annotations


def flags(**values: object) -> list[str]:
    """``--name value`` pairs: ``flags(cache_dir=p, num_cpus=2)`` ->
    ``["--cache-dir", "p", "--num-cpus", "2"]`` (keyword order kept)."""
    return [
        word for key, value in values.items() for word in (f"--{key.replace('_', '-')}", str(value))
    ]

"""Prometheus metrics that count every worker's requests when ``--workers`` > 1.

With several uvicorn workers KServe's ``/metrics`` answers from whichever
worker took the scrape, so its latency histograms count only that worker's
requests. prometheus_client's multiprocess mode fixes this: every process
writes its samples under ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``
aggregates them. The variable must be set before prometheus_client is
imported, so :func:`prepare` runs first thing in ``main()``, before kserve is
imported. Standard library only.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import shutil
import tempfile
from collections.abc import Sequence

ENV = "PROMETHEUS_MULTIPROC_DIR"


def peek_workers(argv: Sequence[str] | None) -> int:
    """The ``--workers`` value of ``argv`` (KServe's flag), without parsing the rest."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--workers", type=int, default=1)
    known, _ = peek.parse_known_args(argv)
    return int(known.workers)


def wipe(path: str) -> int:
    """Remove the multiprocess ``*.db`` files under ``path``; returns how many."""
    stale = glob.glob(os.path.join(path, "*.db"))
    for name in stale:
        os.remove(name)
    return len(stale)


def prepare(argv: Sequence[str] | None) -> str | None:
    """The multiprocess directory for this server, or ``None`` with one worker.

    Honours a ``PROMETHEUS_MULTIPROC_DIR`` set by the operator, wiping the
    ``*.db`` files a previous run left there (prometheus_client's advice:
    stale files would add the old counts to the new ones); otherwise creates
    a private directory, removed when the server exits.
    """
    existing = os.environ.get(ENV)
    if existing:
        os.makedirs(existing, exist_ok=True)
        wipe(existing)
        return existing
    if peek_workers(argv) <= 1:
        return None
    path = tempfile.mkdtemp(prefix="heart-metrics-")
    os.environ[ENV] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path

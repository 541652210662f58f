"""Server processes for load tests and benchmarks: start, wait ready, measure, stop.

Every server is a real process on a free 127.0.0.1 port. Readiness means the
ready URL answers 200 *and* a process of our own tree listens on the port
(so a stray server that already holds the port is never measured by
mistake). Logs go to a file beside the run's other outputs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psutil

READY_TIMEOUT_S = 90.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    """A server did not come up; the message carries the end of its log."""


@dataclass
class Server:
    """One server process: ``argv`` run with ``env`` added, logging to ``log``."""

    name: str
    argv: Sequence[str]
    port: int
    ready_path: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    #: Start order: every tier-0 server is ready before tier 1 starts.
    tier: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerError(f"{self.name} exited before it was ready:\n{self.tail()}")
            if self._answers() and self._listens():
                return self
            time.sleep(0.2)
        raise ServerError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _listens(self) -> bool:
        for proc in self._tree():
            try:
                conns = _connections(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if any(_listening_on(c, self.port) for c in conns):
                return True
        return False

    def _tree(self) -> list[psutil.Process]:
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of the server and all its worker processes, MiB."""
        total = 0
        for proc in self._tree():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total / 2**20

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``grace`` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def tail(self, lines: int = 20) -> str:
        if not self.log.is_file():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Server:
        return self.start().wait_ready()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()


def _connections(proc: psutil.Process) -> list[object]:
    """Its TCP sockets (``net_connections`` from psutil 6, ``connections`` before)."""
    method = getattr(proc, "net_connections", None) or proc.connections
    return list(method(kind="tcp"))


def _listening_on(conn: object, port: int) -> bool:
    laddr = getattr(conn, "laddr", None)
    return bool(getattr(conn, "status", "") == psutil.CONN_LISTEN and laddr and laddr.port == port)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)

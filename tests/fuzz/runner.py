"""Send fuzz cases to real servers and count what a user of the service would mind.

:func:`run` sends every case (a thread pool of REST and gRPC clients), then
reads the servers' logs written meanwhile. :class:`Report` counts requests,
statuses, server errors (HTTP 5xx; gRPC INTERNAL, UNKNOWN, DATA_LOSS),
invalid requests answered 200, answers that leak internals (exception class
names, tracebacks, file paths, the model's digests or directory), REST 4xx
bodies that are not ``{"error": ...}`` or do not name what the case says is at
fault, request values (the cases' markers) found in the logs, tracebacks in
the logs and log bytes per request.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx

from tests.fuzz.cases import Case

SERVER_ERRORS = {"INTERNAL", "UNKNOWN", "DATA_LOSS"}
#: What an answer must never show a client.
_LEAKS = [
    re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b"),
    re.compile(r"Traceback|File \"|site-packages|\.py\b"),
]


@dataclass
class Target:
    """Where one server listens and what it must never reveal."""

    rest: str
    grpc: str
    logs: Sequence[Path]
    secrets: Sequence[str] = ()


@dataclass
class Report:
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    families: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    invalid_answered_200: int = 0
    valid_refused: int = 0
    leaked_internals: int = 0
    not_kserve_error_json: int = 0
    not_naming_the_field: int = 0
    values_in_logs: int = 0
    log_tracebacks: int = 0
    log_bytes: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, what: str, case: Case, detail: str) -> None:
        shown = self.examples.setdefault(what, [])
        if len(shown) < 5:
            shown.append(f"{case.family} {case.server} {case.path}: {detail[:300]}")

    @property
    def log_bytes_per_request(self) -> float:
        return self.log_bytes / max(self.requests, 1)

    def summary(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        lines = [
            f"fuzz: {self.requests} requests in {self.seconds:.1f} s"
            f" ({self.requests / max(self.seconds, 1e-9):.0f}/s)",
            f"  statuses: {statuses}",
            f"  server errors (5xx, gRPC INTERNAL/UNKNOWN): {self.server_errors}",
            f"  invalid requests answered 200: {self.invalid_answered_200}",
            f"  valid requests refused: {self.valid_refused}",
            f"  answers leaking internals: {self.leaked_internals}",
            f"  REST 4xx not {{'error': ...}}: {self.not_kserve_error_json}",
            f"  4xx not naming the field at fault: {self.not_naming_the_field}",
            f"  request values in logs: {self.values_in_logs}",
            f"  tracebacks in logs: {self.log_tracebacks}",
            f"  log bytes per request: {self.log_bytes_per_request:.0f}",
        ]
        for what, shown in self.examples.items():
            lines.append(f"  e.g. {what}:")
            lines += [f"    {line}" for line in shown]
        return "\n".join(lines)

    def to_json(self) -> str:
        # asdict() would rebuild each Counter from (key, count) pairs: copy them as dicts.
        counts = {"statuses": dict(self.statuses), "families": dict(self.families)}
        plain = {k: v for k, v in vars(self).items() if k not in counts}
        data = plain | counts | {"log_bytes_per_request": round(self.log_bytes_per_request, 1)}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclass
class Answer:
    status: str
    ok: bool
    server_error: bool
    text: str
    is_error_json: bool = True


class Clients:
    """One HTTP client and one gRPC channel per thread and server."""

    def __init__(self) -> None:
        self.local = threading.local()

    def http(self) -> httpx.Client:
        if not hasattr(self.local, "http"):
            self.local.http = httpx.Client(timeout=30)
        return self.local.http

    def channel(self, address: str) -> grpc.Channel:
        channels = self.local.__dict__.setdefault("channels", {})
        if address not in channels:
            channels[address] = grpc.insecure_channel(address)
        return channels[address]


def send(case: Case, target: Target, clients: Clients) -> Answer:
    if case.transport == "grpc":
        call = clients.channel(target.grpc).unary_unary(case.grpc_method)
        try:
            call(case.body, timeout=30)
            return Answer("grpc OK", True, False, "")
        except grpc.RpcError as exc:
            code = exc.code().name
            return Answer(f"grpc {code}", False, code in SERVER_ERRORS, exc.details() or "")
    headers = {k.encode(): v.encode() for k, v in case.headers.items()}
    content: bytes | Iterable[bytes] = case.body
    if headers.pop(b"transfer-encoding", None):
        content = iter([case.body[i : i + 65536] for i in range(0, len(case.body), 65536)])
    try:
        response = clients.http().request(
            case.method, target.rest + case.path, content=content, headers=headers
        )
    except httpx.HTTPError as exc:  # the server closed the connection: not an answer
        return Answer(f"closed ({type(exc).__name__})", False, False, "")
    text = response.text
    status = response.status_code
    return Answer(str(status), status == 200, status >= 500, text, _is_error_json(text))


def _is_error_json(text: str) -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def check(case: Case, answer: Answer, target: Target, report: Report) -> None:
    report.requests += 1
    report.statuses[answer.status] += 1
    report.families[case.family] += 1
    if answer.server_error:
        report.server_errors += 1
        report.note("server error", case, f"{answer.status} {answer.text}")
    if case.expect == "invalid" and answer.ok:
        report.invalid_answered_200 += 1
        report.note("invalid answered 200", case, case.body[:200].decode("utf-8", "replace"))
    if case.expect == "valid" and not answer.ok:
        report.valid_refused += 1
        report.note("valid refused", case, f"{answer.status} {answer.text}")
    if not answer.ok and _leaks(answer.text, target):
        report.leaked_internals += 1
        report.note("leak", case, answer.text)
    refused = answer.status.startswith("4")
    if refused and not answer.is_error_json:
        report.not_kserve_error_json += 1
        report.note("4xx not {'error': ...}", case, answer.text)
    named = not case.names or re.search(case.names, answer.text)
    exempt = answer.ok or answer.status in ("413", "grpc NOT_FOUND")
    if (refused or answer.status.startswith("grpc")) and not named and not exempt:
        report.not_naming_the_field += 1
        report.note(f"not naming {case.names!r}", case, answer.text)


def _leaks(text: str, target: Target) -> bool:
    if any(pattern.search(text) for pattern in _LEAKS):
        return True
    return any(secret and secret in text for secret in target.secrets)


def run(
    cases: Iterable[Case],
    targets: dict[str, Target],
    threads: int = 8,
    progress_every: int = 2000,
) -> Report:
    report = Report()
    clients = Clients()
    markers: list[str] = []
    offsets = {path: _size(path) for t in targets.values() for path in t.logs}
    lock = threading.Lock()
    began = time.monotonic()

    def one(case: Case) -> None:
        target = targets[case.server]
        answer = send(case, target, clients)
        with lock:
            check(case, answer, target, report)
            if case.marker:
                markers.append(case.marker)
            if progress_every and report.requests % progress_every == 0:
                print(
                    f"  ... {report.requests} requests, {report.server_errors} server errors",
                    flush=True,
                )

    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(one, cases):
            pass
    report.seconds = time.monotonic() - began
    time.sleep(0.5)  # let the servers flush their last log lines
    logs = b"".join(_tail(path, offsets[path]) for path in offsets)
    report.log_bytes = len(logs)
    report.log_tracebacks = logs.count(b"Traceback (most recent call last)")
    text = logs.decode("utf-8", "replace")
    found = [m for m in markers if m in text]
    report.values_in_logs = len(found)
    for marker in found[:5]:
        line = next(line for line in text.splitlines() if marker in line)
        report.examples.setdefault("value in log", []).append(line[:300])
    return report


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _tail(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read()


def figures_table(data: dict[str, object]) -> str:
    """The Markdown table docs/reliability.md gives for a run (``Report.to_json``'s data)."""
    statuses = data["statuses"]
    assert isinstance(statuses, dict)
    rows = [
        ("requests sent", f"{data['requests']:,} in {float(data['seconds']):.0f} s"),  # type: ignore[arg-type]
        ("statuses", ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items()))),
        ("server errors (HTTP 5xx, gRPC INTERNAL/UNKNOWN)", f"{data['server_errors']}"),
        ("invalid requests answered 200", f"{data['invalid_answered_200']}"),
        ("valid requests refused", f"{data['valid_refused']}"),
        ("answers leaking internals", f"{data['leaked_internals']}"),
        ('REST 4xx not `{"error": ...}`', f"{data['not_kserve_error_json']}"),
        ("4xx not naming the field at fault", f"{data['not_naming_the_field']}"),
        ("request values in logs", f"{data['values_in_logs']}"),
        ("tracebacks in logs", f"{data['log_tracebacks']}"),
        ("log bytes per request", f"{float(data['log_bytes_per_request']):.0f}"),  # type: ignore[arg-type]
    ]
    return "\n".join(["| figure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])

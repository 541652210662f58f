"""The Go load generator against a real HTTP server that counts what it receives."""

from __future__ import annotations

import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest import loadgen

pytestmark = pytest.mark.integration

DELAY_S = 0.005


class _Recorder(http.server.ThreadingHTTPServer):
    """Answers every 4th request with a 500 after DELAY_S; records bodies and Host headers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.bodies: Counter[bytes] = Counter()
        self.hosts: Counter[str] = Counter()
        self.count = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.count += 1
            n = self.server.count
            self.server.bodies[body] += 1
            self.server.hosts[self.headers["Host"]] += 1
        time.sleep(DELAY_S)
        answer = b'{"outputs": []}'
        self.send_response(500 if n % 4 == 0 else 200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    server = _Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def binary() -> Path:
    if not loadgen.DEFAULT_BINARY.is_file():
        pytest.fail("the load generator is not built: run `make loadgen`")
    return loadgen.DEFAULT_BINARY


def _bodies(tmp_path: Path) -> Path:
    path = tmp_path / "bodies.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n\n{"a": 3}\n')
    return path


def test_request_cap_counts_exactly_and_errors_are_reported(
    recorder: _Recorder, binary: Path, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{recorder.server_port}/infer"
    result = loadgen.run(
        url,
        _bodies(tmp_path),
        4,
        30,
        warmup_s=0,
        max_requests=60,
        host_header="heart.default.example.com",
        binary=binary,
    )
    assert result.requests == 60
    assert recorder.count == 60, "no request is sent beyond the cap"
    assert result.statuses == {"200": 45, "500": 15}
    assert result.errors == 15 and result.last_error.startswith("status 500")
    assert set(recorder.bodies) == {b'{"a": 1}', b'{"a": 2}', b'{"a": 3}'}, "bodies rotate"
    assert recorder.hosts == {"heart.default.example.com": 60}
    assert DELAY_S * 1000 <= result.p50_ms <= result.p99_ms <= result.max_ms
    assert result.rps == pytest.approx(result.requests / result.duration_s)


def test_duration_bound_and_warmup_are_respected(
    recorder: _Recorder, binary: Path, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{recorder.server_port}/infer"
    started = time.monotonic()
    result = loadgen.run(url, _bodies(tmp_path), 2, 1.0, warmup_s=0.5, binary=binary)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 4.0
    assert 0 < result.requests < recorder.count, "warm-up requests are sent, not recorded"
    assert result.duration_s == pytest.approx(1.0, abs=0.2)
    # closed loop, 2 workers, >= 5 ms per answer: at most 2 / 5 ms = 400 req/s
    assert result.rps <= 2 / DELAY_S


def test_unreachable_target_is_all_errors(binary: Path, tmp_path: Path) -> None:
    from loadtest.servers import free_port

    url = f"http://127.0.0.1:{free_port()}/infer"
    result = loadgen.run(url, _bodies(tmp_path), 1, 0.3, warmup_s=0, binary=binary)
    assert result.requests > 0 and result.errors == result.requests
    assert result.statuses == {"0": result.requests}


GOOD = b'{"model_name": "heart", "outputs": [{"name": "probability", "data": [0.25, 1.0]}]}'
WRONG_ANSWERS = {
    "/error": (b'{"error": "model not ready"}', "body has an error"),
    "/missing": (b'{"outputs": [{"name": "label", "data": [0, 1]}]}', 'no output "probability"'),
    "/range": (b'{"outputs": [{"name": "probability", "data": [0.2, 1.7]}]}', "value 1 is 1.7"),
    "/count": (
        b'{"outputs": [{"name": "probability", "data": [0.2]}]}',
        "has 1 values, expected 2",
    ),
    "/strings": (b'{"outputs": [{"name": "probability", "data": ["a", "b"]}]}', "not a list"),
    "/html": (b"<html>ok</html>", "not a v2 answer"),
}


class _Canned(http.server.BaseHTTPRequestHandler):
    """200 with the answer the path names: GOOD on /ok, else one of WRONG_ANSWERS."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        answer = GOOD if self.path == "/ok" else WRONG_ANSWERS[self.path][0]
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


EXPECT = loadgen.Expect("probability", 2)


def test_right_answers_pass_the_body_check(canned: str, binary: Path, tmp_path: Path) -> None:
    result = loadgen.run(
        canned + "/ok",
        _bodies(tmp_path),
        2,
        30,
        warmup_s=0,
        max_requests=20,
        expect=EXPECT,
        binary=binary,
    )
    assert (result.requests, result.errors, result.body_errors) == (20, 0, 0)


@pytest.mark.parametrize("path", sorted(WRONG_ANSWERS))
def test_a_wrong_answer_with_status_200_is_an_error(
    path: str, canned: str, binary: Path, tmp_path: Path
) -> None:
    result = loadgen.run(
        canned + path,
        _bodies(tmp_path),
        2,
        30,
        warmup_s=0,
        max_requests=20,
        expect=EXPECT,
        binary=binary,
    )
    assert result.statuses == {"200": 20}
    assert result.errors == result.body_errors == 20
    assert WRONG_ANSWERS[path][1] in result.last_error


def test_status_errors_are_not_body_errors(
    recorder: _Recorder, binary: Path, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{recorder.server_port}/infer"
    result = loadgen.run(
        url,
        _bodies(tmp_path),
        1,
        30,
        warmup_s=0,
        max_requests=8,
        expect=loadgen.Expect("probability", 0),
        binary=binary,
    )
    # the recorder answers {"outputs": []}: 6 body errors, and 2 answers with status 500
    assert result.errors == 8 and result.body_errors == 6

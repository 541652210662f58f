"""Downloads from a real HTTP server on 127.0.0.1: a whole file is cached, a
download cut off mid-body is a one-line error that caches nothing."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.training_fixtures import clean_env, run_training
from training.data import DataError, SiteUnavailableError, fetch

pytestmark = pytest.mark.integration

CLEVELAND = "processed.cleveland.data"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the mirror's files; ``cut`` sends only the first half of each body."""

    folder: Path
    cut: bool

    def do_GET(self) -> None:
        path = self.folder / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))  # promises the whole file
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.cut else body)
        if self.cut:
            self.close_connection = True  # ... and hangs up half-way

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _server(folder: Path, cut: bool) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"folder": folder, "cut": cut})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def mirror(data_source: str) -> Path:
    if "://" in data_source:
        pytest.skip("needs a mirror folder to serve")
    return Path(data_source)


def test_a_whole_download_is_verified_and_cached(mirror: Path, tmp_path: Path) -> None:
    with _server(mirror, cut=False) as url:
        cached = fetch("cleveland", url, tmp_path / "cache")
    assert cached.read_bytes() == (mirror / CLEVELAND).read_bytes()


def test_a_download_cut_off_mid_body_is_an_error_and_caches_nothing(
    mirror: Path, tmp_path: Path
) -> None:
    size = (mirror / CLEVELAND).stat().st_size
    with _server(mirror, cut=True) as url, pytest.raises(DataError) as err:
        fetch("cleveland", url, tmp_path / "cache")
    assert not isinstance(err.value, SiteUnavailableError)  # the file exists: not "absent"
    assert str(err.value) == (
        f"{url}{CLEVELAND}: download cut off after {size // 2} of {size} bytes;"
        " nothing was cached, try again"
    )
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_the_data_command_reports_a_cut_off_download_in_one_line(
    mirror: Path, tmp_path: Path
) -> None:
    with _server(mirror, cut=True) as url:
        args = ["data", "--source", url, "--cache-dir", str(tmp_path / "cache")]
        done = run_training([*args, "--sites", "cleveland"], clean_env(), check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {url}{CLEVELAND}: download cut off")
    assert "Traceback" not in done.stderr

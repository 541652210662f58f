"""The UCI Heart Disease processed files: fetch, verify, cache, parse.

``load_site("cleveland")`` returns the contract's float32 matrix [N, 13] (NaN
for missing) and the binary target ``num > 0``. Files come from a *source*: a
folder or a base URL (``HEART_DATA_SOURCE``), UCI's own addresses by default.
Every file is checked against its published sha256 before it is parsed or
cached; the cache (``data/cache`` by default) is written atomically, so a
failed download never leaves a half-written file behind, with the mode any
file this process creates gets (``0666 & ~umask``).

Errors are :class:`DataError` with a one-line message naming the file (and the
line and column where one applies); a download cut off mid-body is one too
(the file exists but did not arrive whole). A site whose file the source does not
have raises :class:`SiteUnavailableError`, which callers may report as absent.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from training import files
from training.uci_format import MISSING_CODED, DataError, parse_file, parse_text

__all__ = [
    "MISSING_CODED",
    "SITES",
    "DataError",
    "SiteUnavailableError",
    "fetch",
    "load_site",
    "parse_file",
    "parse_text",
]

UCI_BASE_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/heart-disease/"
DEFAULT_CACHE = Path("data/cache")
#: Site name -> (file name, sha256 of UCI's original bytes).
SITES: dict[str, tuple[str, str]] = {
    "cleveland": (
        "processed.cleveland.data",
        "a74b7efa387bc9d108d7d0115d831fe9b414b29ae7124f331b622b4efa0427c8",
    ),
    "hungarian": (
        "processed.hungarian.data",
        "d1ad108f785768cd3d7e82dc522e6f5a61eea93cccfb3a46ee8076f73fc3d796",
    ),
    "switzerland": (
        "processed.switzerland.data",
        "834a405ccf5b66ab4056bb77794adc8df0b7125186454c0a1d002d33c6c3b314",
    ),
    "va": (
        "processed.va.data",
        "e7c93d8d0d2acdadfa4c5e8de768e2191e7f618b952e29623f1f0d5949ff6b8f",
    ),
}
_TIMEOUT_S = 30.0


class SiteUnavailableError(DataError):
    """The source does not hold (or cannot deliver) this site's file.

    Callers that can do without the site report it as absent; it is never
    raised for a file that arrived but is corrupt.
    """


def resolve_source(source: str | None) -> str:
    """``source``, else ``HEART_DATA_SOURCE``, else UCI's own addresses."""
    return source or os.environ.get("HEART_DATA_SOURCE") or UCI_BASE_URL


def load_site(
    site: str, source: str | None = None, cache_dir: Path = DEFAULT_CACHE
) -> tuple[np.ndarray, np.ndarray]:
    """The verified site as (float32 matrix [N, 13], int64 target 0/1)."""
    return parse_file(fetch(site, source, cache_dir))


def fetch(site: str, source: str | None = None, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The cached, sha256-verified file of ``site``; downloads it when needed."""
    name, expected = _site(site)
    cached = cache_dir / name
    if cached.is_file() and _sha256(cached.read_bytes()) == expected:
        return cached
    data = _read_source(resolve_source(source), name)
    _verify(data, name, expected)
    files.write_bytes_atomic(cached, data)
    return cached


def _site(site: str) -> tuple[str, str]:
    if site not in SITES:
        raise DataError(f"unknown site {site!r}: choose one of {', '.join(SITES)}")
    return SITES[site]


def _read_source(source: str, name: str) -> bytes:
    if "://" not in source:
        path = Path(source) / name
        if not path.is_file():
            raise SiteUnavailableError(f"{path}: not found in the data source {source}")
        return path.read_bytes()
    url = source.rstrip("/") + "/" + name
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise SiteUnavailableError(f"{url}: download failed (HTTP {exc.code})") from exc
    except http.client.IncompleteRead as exc:
        raise DataError(_cut_off(url, exc)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        if isinstance(getattr(exc, "reason", None), FileNotFoundError):
            raise SiteUnavailableError(f"{url}: not found") from exc
        reason = str(exc) or type(exc).__name__
        raise SiteUnavailableError(f"{url}: download failed ({reason})") from exc


def _cut_off(url: str, exc: http.client.IncompleteRead) -> str:
    """A download that stopped mid-body: the file exists but did not arrive whole."""
    got = len(exc.partial)
    total = f" of {got + exc.expected}" if exc.expected is not None else ""
    return f"{url}: download cut off after {got}{total} bytes; nothing was cached, try again"


def _verify(data: bytes, name: str, expected: str) -> None:
    """Reject bytes whose sha256 differs, naming the first bad line when one is found."""
    actual = _sha256(data)
    if actual == expected:
        return
    parse_text(data.decode("utf-8", errors="replace"), name)  # raises with line/column
    raise DataError(
        f"{name}: sha256 {actual} does not match the published {expected}"
        " (tampered or incomplete file)"
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

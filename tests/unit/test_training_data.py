"""Parsing, verification and caching of the UCI files (no network: a mirror folder)."""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from training import data
from training.data import DataError, SiteUnavailableError, fetch, load_site, parse_text

pytestmark = pytest.mark.unit

CLEVELAND = "processed.cleveland.data"


@pytest.fixture
def mirror(data_source: str, tmp_path: Path) -> Path:
    """A writable copy of the mirror's Cleveland file (tests tamper with it)."""
    if "://" in data_source:
        pytest.skip("these tests need a mirror folder")
    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copy(Path(data_source) / CLEVELAND, folder / CLEVELAND)
    return folder


def _lines(folder: Path) -> list[str]:
    return (folder / CLEVELAND).read_text().splitlines()


def _write(folder: Path, lines: list[str]) -> None:
    (folder / CLEVELAND).write_text("\n".join(lines) + "\n")


def test_cleveland_parses_to_the_contract_matrix(mirror: Path, tmp_path: Path) -> None:
    x, y = load_site("cleveland", str(mirror), tmp_path / "cache")
    assert x.shape == (303, 13) and x.dtype == np.float32
    assert y.dtype == np.int64 and int(y.sum()) == 139  # num > 0 per UCI's counts
    assert int(np.isnan(x).sum()) == 6  # four '?' in ca, two in thal
    assert math.isnan(x[87, 12]) and math.isnan(x[166, 11])  # lines 88 (thal), 167 (ca)


def test_question_mark_and_impossible_zeros_are_missing() -> None:
    text = "63,1,1,0,0,1,2,150,0,2.3,3,?,6,2\n"
    x, y = parse_text(text, "t.data")
    assert np.isnan(x[0, [3, 4, 11]]).all()
    assert x[0, 0] == 63 and y.tolist() == [1]


def test_zero_where_zero_is_real_is_kept() -> None:
    x, _ = parse_text("63,0,1,120,200,0,0,150,0,0,1,0,3,0\n", "t.data")
    assert x[0, 1] == 0 and x[0, 9] == 0 and x[0, 11] == 0


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("63,1,1,145,233,1,2,150,0,2.3,3,0,5,0", "column 13 (thal)"),
        ("63,1,1,145,233,1,2,150,0,2.3,3,0,6,7", "column 14 (num)"),
        ("63,1,1,145,2x3,1,2,150,0,2.3,3,0,6,0", "column 5 (chol)"),
        ("3,1,1,145,233,1,2,150,0,2.3,3,0,6,0", "column 1 (age)"),
        ("?,1,1,145,233,1,2,150,0,2.3,3,0,6,0", "column 1 (age)"),
        ("63,1,1,145,233,1,2,150,0,inf,3,0,6,0", "column 10 (oldpeak)"),
    ],
)
def test_bad_value_names_file_line_and_column(line: str, where: str) -> None:
    good = "60,1,4,130,206,0,2,132,1,2.4,2,2,7,4"
    with pytest.raises(DataError, match=rf"^f\.data line 2 {re.escape(where)}: ") as err:
        parse_text(f"{good}\n{line}\n", "f.data")
    assert "\n" not in str(err.value)


def test_truncated_file_names_the_short_line(mirror: Path, tmp_path: Path) -> None:
    text = (mirror / CLEVELAND).read_text()
    (mirror / CLEVELAND).write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=r"processed\.cleveland\.data line 152: .* fields"):
        fetch("cleveland", str(mirror), tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_tampered_but_plausible_file_fails_its_checksum(mirror: Path, tmp_path: Path) -> None:
    lines = _lines(mirror)
    lines[0] = lines[0].replace("63.0", "64.0", 1)
    _write(mirror, lines)
    with pytest.raises(DataError, match=r"processed\.cleveland\.data: sha256 \w+ does not"):
        load_site("cleveland", str(mirror), tmp_path / "cache")
    assert not (tmp_path / "cache" / CLEVELAND).exists()


def test_corrupt_value_in_file_names_line_and_column(mirror: Path, tmp_path: Path) -> None:
    lines = _lines(mirror)
    fields = lines[41].split(",")
    fields[4] = "9999.0"
    lines[41] = ",".join(fields)
    _write(mirror, lines)
    with pytest.raises(DataError, match=r"line 42 column 5 \(chol\): value '9999\.0' is out"):
        load_site("cleveland", str(mirror), tmp_path / "cache")


def test_cache_is_reused_without_the_source(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = fetch("cleveland", str(mirror), cache)
    (mirror / CLEVELAND).unlink()
    assert fetch("cleveland", str(mirror), cache) == first
    assert [p.name for p in cache.iterdir()] == [CLEVELAND]  # no temporary leftovers


def test_tampered_cache_is_replaced_from_the_source(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cached = fetch("cleveland", str(mirror), cache)
    cached.write_text("garbage\n")
    x, _ = load_site("cleveland", str(mirror), cache)
    assert x.shape == (303, 13)
    assert cached.read_bytes() == (mirror / CLEVELAND).read_bytes()


def test_failed_write_leaves_no_partial_cache(mirror: Path, tmp_path: Path, monkeypatch) -> None:
    def crash(src: str, dst: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        fetch("cleveland", str(mirror), tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_absent_site_is_unavailable_not_corrupt(mirror: Path, tmp_path: Path) -> None:
    with pytest.raises(SiteUnavailableError, match=r"processed\.va\.data: not found"):
        fetch("va", str(mirror), tmp_path / "cache")


def test_base_url_source(mirror: Path, tmp_path: Path) -> None:
    x, _ = load_site("cleveland", mirror.as_uri(), tmp_path / "cache")
    assert x.shape == (303, 13)
    with pytest.raises(SiteUnavailableError):
        fetch("hungarian", mirror.as_uri(), tmp_path / "cache")


def test_unknown_site_lists_the_sites() -> None:
    with pytest.raises(DataError, match="unknown site 'ohio': choose one of cleveland, hungarian"):
        fetch("ohio")


def test_source_falls_back_to_env_then_uci(monkeypatch) -> None:
    monkeypatch.setenv("HEART_DATA_SOURCE", "/somewhere")
    assert data.resolve_source(None) == "/somewhere"
    assert data.resolve_source("/flag") == "/flag"
    monkeypatch.delenv("HEART_DATA_SOURCE")
    assert data.resolve_source(None) == data.UCI_BASE_URL

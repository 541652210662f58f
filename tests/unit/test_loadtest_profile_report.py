"""Reading py-spy's raw output: threads weighted by their /proc CPU, waits left out, views."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest import profile_report as pr

pytestmark = pytest.mark.unit

ROOT = "run (asyncio/runners.py:160);BaseEventLoop._run_once (asyncio/base_events.py:1845)"
RAW = f"""thread (11): MainThread;{ROOT};EpollSelector.select (selectors.py:451) 600
thread (11): MainThread;{ROOT};V2Endpoints.infer (kserve/protocol/rest/v2_endpoints.py:120);\
HeartTransformer.preprocess (transformer/model.py:80);v2_matrix (transformer/decode.py:30) 150
thread (11): MainThread;{ROOT};V2Endpoints.infer (kserve/protocol/rest/v2_endpoints.py:120);\
Logger.info (logging/__init__.py:1479) 50
thread (12): Thread-2 (_poll_wrapper);Thread._bootstrap (threading.py:988);\
Thread.run (threading.py:971) 400
"""
#: /proc: the main thread used 0.9 s, the poller 0.02 s, a C++ thread 0.08 s.
CPU = {11: ("python", 0.9), 12: ("python", 0.02), 13: ("event_engine", 0.08)}


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "profile.txt"
    path.write_text(RAW)
    return path


def test_frames_and_threads_are_parsed(raw: Path) -> None:
    stacks = pr.read(raw)
    assert [(tid, n) for tid, _, n in stacks] == [(11, 600), (11, 150), (11, 50), (12, 400)]
    leaf = stacks[1][1][-1]
    assert (leaf.function, leaf.path) == ("v2_matrix", "transformer/decode.py")
    assert pr.area(leaf) == "ours: transformer/"
    assert pr.area(pr.parse_frame("Logger.info (logging/__init__.py:1479)")) == "logging"


def test_waits_are_left_out_and_threads_weighted_by_their_cpu(raw: Path) -> None:
    stacks = pr.read(raw)
    assert pr.waiting_share(stacks) == pytest.approx(1000 / 1200)
    weighted = pr.weigh(stacks, CPU)
    assert sum(w for _, w in weighted) == pytest.approx(1.0)
    areas = dict(pr.areas(weighted))
    # the main thread's 0.9 s of 1.0 s split 150:50 over its working samples
    assert areas["ours: transformer/"] == pytest.approx(0.9 * 0.75)
    assert areas["logging"] == pytest.approx(0.9 * 0.25)
    # the poller's samples are all waits: its 0.02 s and the C++ thread's 0.08 s stay whole
    native = "threads without Python frames (gRPC event engine, allocator)"
    assert areas[native] == pytest.approx(0.10)


def test_without_cpu_figures_samples_count_alike(raw: Path) -> None:
    areas = dict(pr.areas(pr.weigh(pr.read(raw), None)))
    assert areas == {"ours: transformer/": pytest.approx(0.75), "logging": pytest.approx(0.25)}


def test_candidates_inclusive_and_branches(raw: Path) -> None:
    weighted = pr.weigh(pr.read(raw), CPU)
    found = dict(pr.candidates(weighted))
    assert found["our decoding and validation (HeartTransformer.preprocess)"] == pytest.approx(
        0.675
    )
    assert found["logging, any logger"] == pytest.approx(0.225)
    assert found["KServe's endpoint: data plane and our model"] == pytest.approx(0.9)
    inclusive = dict(pr.inclusive(weighted))
    assert inclusive["V2Endpoints.infer (kserve/protocol/rest/v2_endpoints.py)"] == (
        pytest.approx(0.9)
    )
    names = [name for name, _ in pr.branches(weighted)]
    assert "run (asyncio/runners.py)" not in names, "the trunk is left out"
    assert "v2_matrix (transformer/decode.py)" in names
    ours = dict(pr.ours_inclusive(weighted))
    assert set(ours) == {
        "HeartTransformer.preprocess (transformer/model.py)",
        "v2_matrix (transformer/decode.py)",
    }


def test_markdown_and_thread_table(raw: Path) -> None:
    weighted = pr.weigh(pr.read(raw), CPU)
    text = pr.markdown(weighted, "title", "conditions here")
    assert text.startswith("# title\n\nconditions here\n")
    assert "| 67.5% | `ours: transformer/` |" in text
    table = pr.thread_table(
        pr.thread_delta(
            {11: ("python", 0.1)},
            {11: ("python", 1.0), **{k: v for k, v in CPU.items() if k != 11}},
        )
    )
    assert "| 11 | python | 0.90 | 90.0% |" in table
    assert "| 13 | event_engine | 0.08 | 8.0% |" in table

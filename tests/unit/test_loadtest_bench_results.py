"""Benchmark results without servers: CPU per request, the path targets, the previous-run
target, the docs results block and the plot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import matplotlib
import pytest

from loadtest import baseline, docs, path_targets, plot, report, summary
from loadtest.loadgen import LoadResult

matplotlib.use("Agg")

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "performance.md"
COMMITTED = REPO / "reports" / "bench" / "latest.json"
MACHINE = {"cpu": "Some CPU", "cores": 2, "summary": "2 cores (Some CPU)"}
CONDITIONS = {"quick": False, "rows": [1, 64], "models": {"RF": {"n_estimators": 100}}}


def _sample(
    server: str,
    model: str = "RF",
    rows: int = 1,
    rps: float = 100.0,
    *,
    cpu: dict[str, float] | None = None,
    rnd: int = 0,
    errors: int = 0,
) -> report.Sample:
    """``rps`` over 1 s (so ``rps`` requests); ``cpu`` in seconds per role over that second."""
    n = int(rps)
    result = LoadResult(n, errors, 1.0, rps, 5, 6, 9, 12, 5, {"200": n}, 0.1, "boom" * bool(errors))
    return report.Sample(server, model, rows, 8, rnd, result, 300.0, cpu_s=cpu or {})


def _point(model: str, rows: int, **rps: float) -> list[report.Sample]:
    """A clean reference point: the predictor, both chains; CPU 1 ms/request per process."""
    found = {"ours": 1000.0, "chain_grpc": 700.0, "chain_rest": 600.0, **rps}
    chain_cpu = {"transformer": 1.0, "predictor": 1.0}
    return [
        _sample("ours", model, rows, found["ours"], cpu={"predictor": found["ours"] / 1000}),
        *(
            _sample(
                name.replace("_", "-"),
                model,
                rows,
                found[name],
                cpu={k: v * found[name] / 1000 for k, v in chain_cpu.items()},
            )
            for name in ("chain_grpc", "chain_rest")
        ),
    ]


def _all_points(**rps: float) -> list[report.Sample]:
    return [s for m, n in path_targets.POINTS for s in _point(m, n, **rps)]


def _by_target(samples: list[report.Sample]) -> dict[str, dict[str, Any]]:
    return {t["target"]: t for t in path_targets.evaluate(report.records(samples))}


GRPC = "c8: transformer->predictor (gRPC) req/s >= 0.6x our predictor alone"
REST = "c8: transformer->predictor (REST) req/s >= 0.8x the gRPC chain"
CPU = "c8: transformer CPU ms/request <= 1.5x the predictor's in the same chain"


def test_cpu_ms_per_request_per_role_are_medians_over_rounds() -> None:
    samples = [
        _sample("chain-grpc", rps=100, cpu={"transformer": 0.3, "predictor": 0.1}, rnd=0),
        _sample("chain-grpc", rps=200, cpu={"transformer": 0.4, "predictor": 0.1}, rnd=1),
        _sample("chain-grpc", rps=100, cpu={"transformer": 0.25, "predictor": 0.2}, rnd=2),
    ]
    (rec,) = report.records(samples)
    assert rec["cpu_ms"] == {"transformer": pytest.approx(2.5), "predictor": pytest.approx(1.0)}
    assert rec["cpu_ms_total"] == pytest.approx(4.0)  # median of 4.0, 2.5 and 4.5 ms
    assert rec["cpu_cores"]["transformer"] == pytest.approx(0.3)
    raw = report._raw(samples[0])
    assert raw["cpu_s"] == {"transformer": 0.3, "predictor": 0.1}
    assert raw["cpu_ms"]["transformer"] == pytest.approx(3.0)


def test_no_cpu_figures_leave_the_record_without_them() -> None:
    (rec,) = report.records([_sample("ours")])
    assert "cpu_ms" not in rec and summary.cpu_cell(rec) == ""


def test_path_targets_are_met_at_every_reference_point() -> None:
    found = _by_target(_all_points())
    assert [found[t]["status"] for t in (GRPC, REST, CPU)] == ["met", "met", "met"]
    assert "RF 1-row 0.70x (700 vs 1000 req/s)" in found[GRPC]["measured"]
    assert "LR 64-row REST 1.00x (1.00 vs 1.00 CPU ms/request)" in found[CPU]["measured"]


def test_one_point_below_a_ratio_misses_the_target() -> None:
    samples = [s for m, n in path_targets.POINTS if (m, n) != ("LR", 64) for s in _point(m, n)]
    samples += _point("LR", 64, chain_grpc=500.0, chain_rest=300.0)
    found = _by_target(samples)
    assert found[GRPC]["status"] == "missed" and "LR 64-row 0.50x" in found[GRPC]["measured"]
    assert found[REST]["status"] == "missed" and "LR 64-row 0.60x" in found[REST]["measured"]


def test_transformer_costing_more_than_1_5x_the_predictor_misses() -> None:
    samples = _all_points()
    slow = next(s for s in samples if s.server == "chain-grpc")
    samples[samples.index(slow)] = report.Sample(
        **{**vars(slow), "cpu_s": {"transformer": 1.6 * 0.7, "predictor": 0.7}}
    )
    found = _by_target(samples)[CPU]
    assert found["status"] == "missed"
    assert "RF 1-row gRPC 1.60x (1.60 vs 1.00 CPU ms/request)" in found["measured"]


def test_missing_cpu_or_systems_or_errors_are_never_met() -> None:
    no_cpu = [report.Sample(**{**vars(s), "cpu_s": {}}) for s in _all_points()]
    found = _by_target(no_cpu)[CPU]
    assert found["status"] == "not measured" and "RF 1-row gRPC: no CPU figures" in found["reason"]
    without_rest = [s for s in _all_points() if s.server != "chain-rest"]
    assert _by_target(without_rest)[REST]["status"] == "not measured"
    failing = _all_points()
    failing[0] = _sample("ours", rps=1000, errors=3)
    found = _by_target(failing)[GRPC]
    assert found["status"] == "failed" and "ours 3 of 1000 requests failed" in found["reason"]


def _previous(tmp_path: Path, samples: list[report.Sample], **overrides: Any) -> baseline.Previous:
    data = {
        "machine": {**MACHINE, "started_at": "2026-11-30T10:00:00+00:00"},
        "conditions": CONDITIONS,
        "records": report.records(samples),
        **overrides,
    }
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(data))
    previous = baseline.load(path)
    assert previous is not None
    return previous


def _regression(samples: list[report.Sample], previous: baseline.Previous | None) -> dict:
    return baseline.no_regression(report.records(samples), CONDITIONS, MACHINE, previous)


def _with_peers(samples: list[report.Sample], rps: float) -> list[report.Sample]:
    return samples + [_sample("mlserver", m, n, rps) for m, n in path_targets.POINTS]


def test_a_row_losing_more_than_5_percent_misses_and_is_named(tmp_path: Path) -> None:
    previous = _previous(tmp_path, _with_peers(_all_points(), 100))
    now = _with_peers(_all_points(chain_rest=560.0), 98)  # -6.7% on the REST chain rows
    found = _regression(now, previous)
    assert found["status"] == "missed"
    assert "4 of 12 rows lost more than 5% (chain-rest " in found["measured"]
    assert "chain-rest RF 1-row -6.7%" in found["measured"]
    assert found["measured"].endswith("peers' median change -2.0%")


def test_losses_within_5_percent_meet_and_the_worst_is_shown(tmp_path: Path) -> None:
    previous = _previous(tmp_path, _all_points())
    found = _regression(_all_points(ours=960.0), previous)
    assert found["status"] == "met"
    assert found["measured"] == "0 of 12 rows lost more than 5% (worst: ours LR 1-row -4.0%)"


def test_no_previous_run_or_another_machine_or_conditions_is_not_measured(
    tmp_path: Path,
) -> None:
    assert baseline.load(tmp_path / "absent.json") is None
    assert _regression(_all_points(), None)["status"] == "not measured"
    other_cpu = _previous(tmp_path, _all_points(), machine={**MACHINE, "cpu": "Other CPU"})
    found = _regression(_all_points(), other_cpu)
    assert (
        found["status"] == "not measured"
        and "another machine (2 cores, Other CPU)" in (found["reason"])
    )
    quick = _previous(tmp_path, _all_points(), conditions={**CONDITIONS, "quick": True})
    assert "other conditions" in _regression(_all_points(), quick)["reason"]


def test_cpu_cell_splits_a_chain_into_transformer_and_predictor() -> None:
    (chain,) = report.records(
        [_sample("chain-grpc", rps=100, cpu={"transformer": 0.2, "predictor": 0.05})]
    )
    assert summary.cpu_cell(chain) == "2.00 T + 0.50 P"
    (alone,) = report.records([_sample("ours", rps=100, cpu={"predictor": 0.05})])
    assert summary.cpu_cell(alone) == "0.50"


def test_results_block_replaces_only_what_is_between_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\nbefore\n{docs.BEGIN}\nold table\n{docs.END}\n\nafter\n")
    docs.update(page, "new table\n| a | b |\n")
    assert page.read_text() == (
        f"# Title\n\nbefore\n{docs.BEGIN}\nnew table\n| a | b |\n{docs.END}\n\nafter\n"
    )
    assert docs.block(page) == "new table\n| a | b |"
    page.write_text("no markers\n")
    with pytest.raises(docs.MarkersMissingError, match="needs the lines"):
        docs.update(page, "x")


def test_docs_results_block_matches_the_committed_benchmark_json() -> None:
    """Drift gate: `make bench-docs` regenerates the block; it must equal the page's."""
    result = json.loads(COMMITTED.read_text())
    assert docs.block(PAGE) == summary.markdown(result).rstrip()


def test_committed_run_has_cpu_figures_and_every_target() -> None:
    result = json.loads(COMMITTED.read_text())
    for r in result["records"]:
        expected = {"transformer", "predictor"} if r["server"].startswith("chain") else None
        assert r["cpu_ms_total"] > 0, r["server"]
        if expected:
            assert set(r["cpu_ms"]) == expected
    names = [t["target"] for t in result["targets"]]
    assert {GRPC, REST, CPU, baseline.TARGET} <= set(names)
    assert all(t["status"] in summary.STATUS_MARKUP for t in result["targets"])


def _rendered() -> tuple[Any, Any]:
    """The committed run's figure and its renderer, as saved."""
    fig = plot.figure(json.loads(COMMITTED.read_text()))
    fig.canvas.draw()
    return fig, fig.canvas.get_renderer()


def test_plot_bar_labels_stay_inside_the_axes_and_ticks_are_plain_numbers() -> None:
    fig, renderer = _rendered()
    try:
        for ax in fig.axes:
            box = ax.get_window_extent(renderer)
            for text in ax.texts:
                label = text.get_window_extent(renderer)
                assert box.y0 <= label.y0 and label.y1 <= box.y1, (ax.get_title(), text.get_text())
            ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
            assert ticks and all(re.fullmatch(r"[\d,.]+", t) for t in ticks), ticks
    finally:
        plot.close(fig)


@pytest.mark.parametrize(("value", "text"), [(20, "20"), (1000, "1,000"), (0.5, "0.5")])
def test_tick_labels_read_as_plain_numbers(value: float, text: str) -> None:
    assert plot.plain(value) == text

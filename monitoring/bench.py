"""Per-request cost of drift tracking, metrics and the request log, side by side.

For each batch size the same records go through the transformer's own
validation (``records_to_matrix``, the work every request does anyway) and,
interleaved with it round by round, through what monitoring adds: the drift
window (:meth:`transformer.drift.DriftTracker.observe`), the request metrics
(:func:`serving.telemetry.finish`, the hop histogram), the predictor's
prediction metrics and one JSON log line (to a null stream). Each variant
runs in a fresh process without and with prometheus_client's multiprocess
mode (what ``--workers`` > 1 uses: every update is an mmap write). Medians of
interleaved rounds; the ratio is monitoring / validation.

``python -m monitoring.bench`` prints the table and writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BATCHES = (1, 8, 64, 1024)


def _median_us(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1e6


def measure(rounds: int) -> dict[str, dict[str, float]]:
    """In this process: microseconds per request of each part, per batch size."""
    import io
    import logging

    import numpy as np

    from predictor import metrics as predictor_metrics
    from predictor.inference import Prediction
    from serving import telemetry, trace
    from transformer import drift, hop, profile
    from transformer.synthetic import generate, to_records
    from transformer.validation import records_to_matrix

    reference = json.dumps(profile.build(generate(300, seed=1, missing_rate=0.05)))
    tracker = drift.DriftTracker(window_rows=2000, update_seconds=5.0)
    tracker.learn("1", reference)
    log = trace.RequestLog(True)
    log.logger.handlers[0] = logging.StreamHandler(io.StringIO())
    quiet = trace.RequestLog(False)
    model = _FakeLoaded()
    predictor_metrics._RISK.clear()
    predictor_metrics.loaded(model, "heart")  # type: ignore[arg-type]
    results = {}
    for batch in BATCHES:
        records = to_records(generate(batch, seed=batch, missing_rate=0.05))
        matrix = records_to_matrix(records)
        risk = np.random.default_rng(0).random(batch).astype(np.float32)
        prediction = Prediction(risk, (risk >= 0.5).astype(np.int32))

        def record(rows: int = batch) -> trace.RequestRecord:
            r = trace.RequestRecord("transformer", "rest", "/v1/models/{model_name}")
            r.rows = rows
            return r

        def validation(records: list[dict[str, float | None]] = records) -> None:
            records_to_matrix(records)

        def drift_window(matrix: np.ndarray = matrix) -> None:
            tracker.observe(matrix, "1")

        def request_metrics() -> None:
            telemetry.finish(record(), "200", "ok", quiet)
            hop.LATENCY.labels("v2").observe(0.001)
            hop.CALLS.labels("v2", "ok").inc()

        def prediction_metrics(prediction: Prediction = prediction) -> None:
            predictor_metrics.scored(model, prediction)  # type: ignore[arg-type]

        def log_line() -> None:
            log.write(record(), "200", "ok", 0.001)

        parts: dict[str, Callable[[], None]] = {
            "validation": validation,
            "drift": drift_window,
            "metrics": request_metrics,
            "predictor_metrics": prediction_metrics,
            "log_line": log_line,
        }
        times: dict[str, list[float]] = {name: [] for name in parts}
        for _ in range(rounds):
            for name, call in parts.items():
                started = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - started)
        results[str(batch)] = {name: round(_median_us(t), 2) for name, t in times.items()}
        started = time.perf_counter()
        tracker.publish()
        results[str(batch)]["publish_once"] = round((time.perf_counter() - started) * 1e6, 1)
    return results


class _FakeManifest:
    model_version = "1"
    model_family = "random_forest"
    contract_hash = "0" * 64
    sklearn_version = "1.9.1"
    threshold = 0.5


class _FakeLoaded:
    """The fields :mod:`predictor.metrics` reads from a loaded model."""

    manifest = _FakeManifest()
    serving = "onnx"


def child(mode: str, rounds: int) -> dict[str, dict[str, float]]:
    env = {**os.environ}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "multiprocess":
            env["PROMETHEUS_MULTIPROC_DIR"] = tmp
        out = subprocess.run(
            [sys.executable, "-m", "monitoring.bench", "--child", "--rounds", str(rounds)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    return dict(json.loads(out.stdout))


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "| mode | rows | validation µs | drift µs | metrics µs | predictor metrics µs"
        " | log line µs | monitoring / validation |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, by_batch in results.items():
        for batch, t in by_batch.items():
            added = t["drift"] + t["metrics"] + t["predictor_metrics"] + t["log_line"]
            lines.append(
                f"| {mode} | {batch} | {t['validation']:.0f} | {t['drift']:.1f}"
                f" | {t['metrics']:.1f} | {t['predictor_metrics']:.1f} | {t['log_line']:.1f}"
                f" | {added / t['validation']:.2f} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--out", default="reports/monitoring/bench.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.rounds)))
        return
    results = {}
    for mode in ("single", "multiprocess"):
        print(f"measuring ({mode} process metrics, {args.rounds} rounds)...", flush=True)
        results[mode] = child(mode, args.rounds)
    print(table(results))
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} cores)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"load": load, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()

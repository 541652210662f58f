"""A real Prometheus scrapes the real servers with the project's rules and dashboard.

The predictor and a transformer with ``--workers 2`` (drift windows summed
over worker processes) run on loopback; Prometheus (Debian's package) scrapes
them every second with ``monitoring/rules`` (alert holds shortened to 0 s:
the expressions are the shipped ones). Traffic comes in three phases
(:mod:`monitoring.traffic`): Cleveland-like rows, the same with ``age`` + 15
years, then Hungarian rows. Each phase replaces the drift window.

Which features really differ between Cleveland and Hungarian is decided by a
chi-square test on the raw data (scipy), not by our PSI code.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from monitoring import dashboard, traffic
from monitoring.dashboard import DRIFT_THRESHOLD
from monitoring.files import RULES
from monitoring.local import Prometheus, rules_copy
from tests.conftest import free_port
from tests.integration.serving_fixtures import Server, predictor_server, transformer_server
from transformer.contract import FEATURE_NAMES, FEATURES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="no prometheus binary"),
]
WINDOW = 1200
PHASE_ROWS = 2400  # two windows: every worker's window is replaced whatever the balance
SETTLE_SECONDS = 40.0


@pytest.fixture(scope="module")
def model_dir(data_source: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A forest fitted on Cleveland and exported as training exports (with its profile)."""
    from training.data import load_site
    from training.export import write_model_dir
    from training.pipelines import build_pipeline

    x, y = load_site("cleveland", data_source)
    pipeline = build_pipeline("random_forest", {"n_estimators": 25}, seed=0).fit(x, y)
    out = tmp_path_factory.mktemp("monitored") / "model"
    write_model_dir(pipeline, out, 0.5, data=x, model_family="random_forest", model_version="1")
    return out


@dataclass
class Stack:
    predictor: Server
    transformer: Server
    prometheus: Prometheus
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("monitoring-logs")
    pred = predictor_server(model_dir, logs, ["--log_requests"]).start()
    drift = ["--drift_window_rows", str(WINDOW), "--drift_update_seconds", "1"]
    drift += ["--drift_min_rows", "300", "--workers", "2", "--log_requests"]
    trans = transformer_server(pred.grpc, "grpc-v2", logs, drift)
    work = tmp_path_factory.mktemp("prometheus")
    rules = rules_copy(RULES, work / "rules.yml", hold="0s")
    targets = {"predictor": f"127.0.0.1:{pred.http_port}"}
    targets["transformer"] = f"127.0.0.1:{trans.http_port}"
    prom = Prometheus(work, targets, [rules], port=free_port(), scrape_interval="1s")
    prom.evaluation_interval = "1s"
    try:
        pred.wait_ready()
        trans.start().wait_ready(120)
        prom.start().wait_ready()
        yield Stack(pred, trans, prom)
    finally:
        prom.stop()
        trans.stop()
        pred.stop()


def drifted(prom: Prometheus) -> set[str]:
    return {r["metric"]["feature"] for r in prom.query(f"heart_drift_score > {DRIFT_THRESHOLD}")}


def drift_alerts(prom: Prometheus) -> set[str]:
    return {
        a["labels"]["feature"]
        for a in prom.alerts()
        if a["labels"]["alertname"] == "HeartFeatureDrift" and a["state"] == "firing"
    }


def settle(prom: Prometheus, rows_seen: float) -> dict[str, Any]:
    """Wait until Prometheus has the window after ``rows_seen`` rows and the alerts followed."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last: tuple[set[str], set[str]] = (set(), set())
    stable = 0
    while time.monotonic() < deadline:
        seen = prom.query("sum(heart_predictions_total)")
        fresh = seen and float(seen[0]["value"][1]) >= rows_seen
        current = (drifted(prom), drift_alerts(prom))
        stable = stable + 1 if fresh and current == last and current[0] == current[1] else 0
        last = current
        if stable >= 3:
            break
        time.sleep(1.0)
    scores = {r["metric"]["feature"]: float(r["value"][1]) for r in prom.query("heart_drift_score")}
    rows = prom.query("heart_drift_window_rows")
    return {
        "drifted": last[0],
        "alerts": last[1],
        "scores": scores,
        "window": float(rows[0]["value"][1]) if rows else 0.0,
    }


@pytest.fixture(scope="module")
def phases(stack: Stack, data_source: str) -> dict[str, dict[str, Any]]:
    """Send the three phases in order; what Prometheus shows after each."""
    sender = traffic.Sender(stack.transformer.url)
    total = 0
    with httpx.Client(timeout=30, headers={"connection": "close"}) as client:
        for seed, (name, make) in enumerate(traffic.PHASES.items()):
            ok = sender.send(make(data_source, PHASE_ROWS, seed), client)
            assert ok == PHASE_ROWS // sender.batch, f"{name}: {ok} requests answered"
            total += PHASE_ROWS
            stack.phases[name] = settle(stack.prometheus, total)
    return stack.phases


def test_cleveland_like_traffic_drifts_nowhere(phases: dict[str, dict[str, Any]]) -> None:
    first = phases["cleveland-like"]
    assert WINDOW * 0.8 <= first["window"] <= WINDOW, first
    assert set(first["scores"]) == set(FEATURE_NAMES)
    assert first["drifted"] == set() and first["alerts"] == set(), first["scores"]


def test_older_patients_drift_in_age_only(phases: dict[str, dict[str, Any]]) -> None:
    shifted = phases["age+15"]
    assert shifted["drifted"] == {traffic.SHIFTED_FIELD}, shifted["scores"]
    assert shifted["alerts"] == {traffic.SHIFTED_FIELD}


def chi_square_p(data_source: str) -> dict[str, float]:
    """p-value of Cleveland vs Hungarian per field (codes or pooled quintiles, plus missing)."""
    from scipy.stats import chi2_contingency

    from training.data import load_site

    a_all, _ = load_site("cleveland", data_source)
    b_all, _ = load_site("hungarian", data_source)
    result = {}
    for i, feature in enumerate(FEATURES):
        a, b = a_all[:, i], b_all[:, i]
        pooled = np.concatenate([a, b])
        pooled = pooled[~np.isnan(pooled)]
        if feature.kind == "categorical":
            edges = np.array(sorted(feature.codes), dtype=float)[:-1]
        else:
            edges = np.unique(np.quantile(pooled, [0.2, 0.4, 0.6, 0.8]))

        def counts(v: np.ndarray, edges: np.ndarray = edges) -> list[int]:
            seen = v[~np.isnan(v)]
            bins = np.bincount(np.searchsorted(edges, seen), minlength=len(edges) + 1)
            return [*bins.tolist(), int(np.isnan(v).sum())]

        table = np.array([counts(a), counts(b)])
        result[feature.name] = float(chi2_contingency(table[:, table.sum(0) > 0])[1])
    return result


def test_hungarian_traffic_drifts_where_the_sites_differ(
    phases: dict[str, dict[str, Any]], data_source: str
) -> None:
    hungarian = phases["hungarian"]
    p = chi_square_p(data_source)
    differ = {name for name, value in p.items() if value < 1e-3}
    alike = {name for name, value in p.items() if value > 0.05}
    glaring = {name for name, value in p.items() if value < 1e-15}
    assert alike and glaring, p
    assert hungarian["drifted"] <= differ, (hungarian["scores"], p)
    assert not hungarian["drifted"] & alike
    assert glaring <= hungarian["drifted"], (hungarian["scores"], p)
    assert hungarian["alerts"] == hungarian["drifted"]


def referenced_metrics() -> set[str]:
    """Every series name the rules and the dashboard select on."""
    exprs = [q.expr for panel in dashboard.PANELS for q in panel.queries]
    groups = yaml.safe_load(RULES.read_text())["groups"]
    exprs += [rule["expr"] for group in groups for rule in group["rules"]]
    names = set()
    for expr in exprs:
        for token in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*[\[{)])", expr):
            if "heart_" in token or token == "up":
                names.add(token)
    return names


def test_every_metric_of_the_rules_and_dashboard_exists(
    stack: Stack, phases: dict[str, dict[str, Any]]
) -> None:
    names = referenced_metrics()
    assert {"heart_requests_total", "heart_drift_score", "heart_risk_score_bucket"} <= names
    missing = [n for n in sorted(names) if not stack.prometheus.query(f'{{__name__="{n}"}}')]
    assert missing == []


def test_every_dashboard_query_returns_series(
    stack: Stack, phases: dict[str, dict[str, Any]]
) -> None:
    empty = [
        f"{panel.title}: {query.expr}"
        for panel in dashboard.PANELS
        for query in panel.queries
        if not stack.prometheus.query(dashboard.for_prometheus(query.expr, "30s"))
    ]
    assert empty == []


def test_labels_never_hold_a_callers_value(stack: Stack, phases: dict[str, dict[str, Any]]) -> None:
    record: dict[str, object] = {name: None for name in FEATURE_NAMES}
    record.update({"age": 50, "sex": 1, "cp": 4, "smithjohn": 1})
    trans = stack.transformer
    for path in ("/v1/models/heart:predict", "/v2/models/smithjohn/infer", "/smithjohn"):
        headers = {"x-request-id": "smithjohn"}
        assert trans.post(path, json={"instances": [record]}, headers=headers).status_code >= 400
    for server in (trans, stack.predictor):
        assert "smithjohn" not in server.get("/metrics").text.lower()
    labels = stack.prometheus.api("labels")
    values = [v for name in labels for v in stack.prometheus.api(f"label/{name}/values")]
    assert not [v for v in values if "smithjohn" in v.lower()]

"""The alert rules pass promtool (Debian's prometheus package): syntax, and a unit test per
alert that fires on its series and resolves after; the shipped copies are current."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from monitoring import dashboard, files

pytestmark = pytest.mark.integration
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="no promtool")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args],
        cwd=files.RULES.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_promtool
def test_promtool_checks_the_rules() -> None:
    result = promtool("check", "rules", files.RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", files.RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_fails_a_test_whose_alert_does_not_fire(tmp_path) -> None:
    """The unit tests can fail: a threshold nobody reaches leaves the firing case red."""
    rules = yaml.safe_load(files.RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "HeartFeatureDrift":
                rule["expr"] = "heart_drift_score > 25"
    (tmp_path / files.RULES.name).write_text(yaml.safe_dump(rules))
    shutil.copy(files.RULE_TESTS, tmp_path / files.RULE_TESTS.name)
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "test", "rules", files.RULE_TESTS.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0 and "HeartFeatureDrift" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_resolved() -> None:
    groups = yaml.safe_load(files.RULES.read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    tests = yaml.safe_load(files.RULE_TESTS.read_text())["tests"]
    cases: dict[str, list[tuple[object, bool]]] = {}
    for test in tests:
        for case in test.get("alert_rule_test", []):
            fired = bool(case.get("exp_alerts"))
            cases.setdefault(case["alertname"], []).append((case["eval_time"], fired))
    assert alerts == set(cases)
    for name, evals in cases.items():
        firing = [i for i, (_, f) in enumerate(evals) if f]
        assert firing, f"{name} never fires in the tests"
        assert any(not f for _, f in evals[firing[0] + 1 :]), f"{name} never resolves"
        assert not evals[0][1], f"{name} fires from the start"


def test_shipped_rules_and_dashboard_are_current() -> None:
    assert files.stale() == [], "run make monitoring-files"
    shipped = yaml.safe_load(files.PROMETHEUS_RULE.read_text())
    assert shipped["kind"] == "PrometheusRule"
    source = yaml.safe_load(files.RULES.read_text())
    assert [g["name"] for g in shipped["spec"]["groups"]] == [g["name"] for g in source["groups"]]


def test_dashboard_panels_query_prometheus_through_the_datasource_variable() -> None:
    board = json.loads(files.DASHBOARD.read_text())
    assert board["uid"] == dashboard.UID
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert [p["title"] for p in panels] == [spec.title for spec in dashboard.PANELS]
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    drift = next(p for p in panels if p["title"].startswith("Drift"))
    steps = drift["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == dashboard.DRIFT_THRESHOLD
    alert = next(
        r
        for g in yaml.safe_load(files.RULES.read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "HeartFeatureDrift"
    )
    assert alert["expr"] == f"heart_drift_score > {dashboard.DRIFT_THRESHOLD}"


def test_the_component_renders_podmonitors_for_both_servers() -> None:
    from delivery import render

    objects = list(render.documents(render.render(files.ROOT / "manifests/overlays/kind")))
    monitors = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PodMonitor"}
    assert set(monitors) == {"heart-predictor", "heart-transformer"}
    for name, monitor in monitors.items():
        component = name.removeprefix("heart-")
        labels = monitor["spec"]["selector"]["matchLabels"]
        assert labels == {"serving.kserve.io/inferenceservice": "heart", "component": component}
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        assert endpoint["path"] == "/metrics"
        relabel = endpoint["relabelings"][0]
        assert relabel["targetLabel"] == "component"
    kinds = {o["kind"] for o in objects}
    assert {"PrometheusRule", "ConfigMap"} <= kinds

"""Write the rules and the dashboard into the kustomize component, or check they are current.

``manifests/components/monitoring`` ships them with the manifests: a
PrometheusRule whose ``spec`` is ``monitoring/rules/heart-kserve.rules.yml``
and the dashboard JSON for a ConfigMap (Grafana's sidecar label). Both are
generated here (``make monitoring-files``) and kept in git; ``--check``
fails when they differ from what their sources give (the drift gate).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from monitoring import dashboard

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "monitoring" / "rules" / "heart-kserve.rules.yml"
RULE_TESTS = ROOT / "monitoring" / "rules" / "heart-kserve.test.yml"
COMPONENT = ROOT / "manifests" / "components" / "monitoring"
PROMETHEUS_RULE = COMPONENT / "prometheusrule.yaml"
DASHBOARD = COMPONENT / "dashboards" / "heart-kserve.json"
_HEADER = "# Generated from monitoring/rules/heart-kserve.rules.yml by `make monitoring-files`.\n"


def rule_groups() -> dict[str, object]:
    return dict(yaml.safe_load(RULES.read_text()))


def _stripped(value: object) -> object:
    """Folded strings without their trailing newline (one line each in the YAML)."""
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value.strip() if isinstance(value, str) else value


def prometheus_rule() -> str:
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "heart-kserve"},
        "spec": _stripped(rule_groups()),
    }
    return _HEADER + yaml.safe_dump(rule, sort_keys=False, width=1000)


def expected() -> dict[Path, str]:
    return {PROMETHEUS_RULE: prometheus_rule(), DASHBOARD: dashboard.to_json()}


def stale() -> list[Path]:
    return [p for p, text in expected().items() if not p.is_file() or p.read_text() != text]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        if out_of_date:
            names = ", ".join(str(p.relative_to(ROOT)) for p in out_of_date)
            sys.exit(f"out of date: {names}; run make monitoring-files")
        return
    for path, text in expected().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

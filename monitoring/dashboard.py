"""The Grafana dashboard of the heart service, built with grafana-foundation-sdk.

:data:`PANELS` is the one list of what is shown: the dashboard builder, the
live test (every query returns series against a real Prometheus) and the PNG
report (:mod:`monitoring.report`) all read it. Queries select on
``component`` (predictor | transformer, see the rules) and use Grafana's
``$__rate_interval``; :func:`for_prometheus` substitutes it for plain
Prometheus.

``python -m monitoring.dashboard`` prints the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The inference routes (REST templates and the gRPC method), as the rules spell them.
INFER = 'route=~".*/infer|.*:predict|ModelInfer"'
#: The drift score above which the HeartFeatureDrift alert fires (rules file).
DRIFT_THRESHOLD = 0.25
UID = "heart-kserve"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class PanelSpec:
    """One panel: ``kind`` is timeseries, heatmap, table or stat; ``main`` ones go to PNG."""

    title: str
    kind: str
    queries: tuple[Query, ...]
    unit: str = "short"
    main: bool = False
    row: str = ""
    description: str = ""
    threshold: float | None = None


def _q(expr: str, legend: str) -> Query:
    return Query(" ".join(expr.split()), legend)


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec(
        "Inference requests per second",
        "timeseries",
        (
            _q(
                "sum by (component, route)"
                f" (rate(heart_requests_total{{{INFER}}}[$__rate_interval]))",
                "{{component}} {{route}}",
            ),
        ),
        unit="reqps",
        main=True,
        row="Traffic",
    ),
    PanelSpec(
        "Latency p99 / p50 by route",
        "timeseries",
        (
            _q(
                "histogram_quantile(0.99, sum by (component, route, le)"
                f" (rate(heart_request_duration_seconds_bucket{{{INFER}}}[$__rate_interval])))",
                "p99 {{component}} {{route}}",
            ),
            _q(
                "histogram_quantile(0.5, sum by (component, route, le)"
                f" (rate(heart_request_duration_seconds_bucket{{{INFER}}}[$__rate_interval])))",
                "p50 {{component}} {{route}}",
            ),
        ),
        unit="s",
        main=True,
        row="Traffic",
    ),
    PanelSpec(
        "Transformer -> predictor hop latency",
        "timeseries",
        (
            _q(
                "histogram_quantile(0.99, sum by (protocol, le)"
                " (rate(heart_predictor_call_duration_seconds_bucket[$__rate_interval])))",
                "p99 {{protocol}}",
            ),
            _q(
                "histogram_quantile(0.5, sum by (protocol, le)"
                " (rate(heart_predictor_call_duration_seconds_bucket[$__rate_interval])))",
                "p50 {{protocol}}",
            ),
        ),
        unit="s",
        row="Traffic",
    ),
    PanelSpec(
        "Answers by outcome",
        "timeseries",
        (
            _q(
                "sum by (component, outcome)"
                f" (rate(heart_requests_total{{{INFER}}}[$__rate_interval]))",
                "{{component}} {{outcome}}",
            ),
        ),
        unit="reqps",
        main=True,
        row="Errors",
        description="ok, invalid (400 / INVALID_ARGUMENT), unavailable, timeout, error...",
    ),
    PanelSpec(
        "Predictor calls by outcome",
        "timeseries",
        (
            _q(
                "sum by (outcome) (rate(heart_predictor_calls_total[$__rate_interval]))",
                "{{outcome}}",
            ),
        ),
        unit="reqps",
        row="Errors",
    ),
    PanelSpec(
        "Validation failures by field and kind",
        "timeseries",
        (
            _q(
                "sum by (component, field, kind)"
                " (rate(heart_validation_failures_total[$__rate_interval]))",
                "{{component}} {{field}} {{kind}}",
            ),
        ),
        unit="short",
        row="Errors",
    ),
    PanelSpec(
        "Label mix",
        "timeseries",
        (
            _q(
                "sum by (label) (rate(heart_predictions_total[$__rate_interval]))"
                " / ignoring (label) group_left"
                " sum(rate(heart_predictions_total[$__rate_interval]))",
                "{{label}}",
            ),
        ),
        unit="percentunit",
        main=True,
        row="What the model answers",
    ),
    PanelSpec(
        "Risk score distribution",
        "heatmap",
        (
            _q(
                "sum by (le) (increase(heart_risk_score_bucket[$__rate_interval]))",
                "{{le}}",
            ),
        ),
        unit="short",
        main=True,
        row="What the model answers",
        description="P(disease) per row; buckets 0.01 wide within 0.05 of the threshold",
    ),
    PanelSpec(
        "Rows per request (p50 / p99)",
        "timeseries",
        (
            _q(
                "histogram_quantile(0.5, sum by (component, le)"
                " (rate(heart_request_rows_bucket[$__rate_interval])))",
                "p50 {{component}}",
            ),
            _q(
                "histogram_quantile(0.99, sum by (component, le)"
                " (rate(heart_request_rows_bucket[$__rate_interval])))",
                "p99 {{component}}",
            ),
        ),
        unit="short",
        row="What the model answers",
    ),
    PanelSpec(
        "Drift per feature (PSI)",
        "timeseries",
        (_q("max by (feature) (heart_drift_score)", "{{feature}}"),),
        unit="short",
        main=True,
        row="Drift",
        description="Population stability index of the transformer's window against the"
        " training profile; the alert fires above the red line for 15 minutes",
        threshold=DRIFT_THRESHOLD,
    ),
    PanelSpec(
        "Missing values per feature (window vs training)",
        "timeseries",
        (
            _q("max by (feature) (heart_drift_missing_rate)", "{{feature}}"),
            _q(
                "max by (feature) (heart_drift_reference_missing_rate)",
                "{{feature}} (training)",
            ),
        ),
        unit="percentunit",
        row="Drift",
    ),
    PanelSpec(
        "Model",
        "table",
        (
            _q(
                "max by (model_name, model_version, family, contract_hash, sklearn_version,"
                " engine) (heart_model_info)",
                "",
            ),
        ),
        row="Model",
    ),
    PanelSpec(
        "Model ready",
        "stat",
        (_q("min by (component) (heart_model_ready)", "{{component}}"),),
        row="Model",
    ),
)


def for_prometheus(expr: str, rate_interval: str = "1m") -> str:
    """``expr`` with Grafana's ``$__rate_interval`` replaced, for Prometheus' own API."""
    return expr.replace("$__rate_interval", rate_interval)


def build() -> Any:
    """The dashboard model (grafana_foundation_sdk)."""
    from grafana_foundation_sdk.builders.dashboard import (
        Dashboard,
        DatasourceVariable,
        Row,
        ThresholdsConfig,
    )
    from grafana_foundation_sdk.models.dashboard import DataSourceRef, Threshold, ThresholdsMode

    source = DataSourceRef(type_val="prometheus", uid="${datasource}")
    board = (
        Dashboard("heart-kserve")
        .uid(UID)
        .tags(["heart-kserve", "kserve"])
        .refresh("30s")
        .time("now-1h", "now")
        .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    row = None
    for spec in PANELS:
        if spec.row != row:
            row = spec.row
            board = board.with_row(Row(row))
        panel = _panel(spec).datasource(source)
        if spec.threshold is not None:
            steps = [Threshold(value=None, color="green"), Threshold(spec.threshold, "red")]
            panel = panel.thresholds(ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
        board = board.with_panel(panel)
    return board.build()


def _panel(spec: PanelSpec) -> Any:
    from grafana_foundation_sdk.builders import heatmap, prometheus, stat, table, timeseries
    from grafana_foundation_sdk.models.prometheus import PromQueryFormat

    kinds: dict[str, Any] = {
        "timeseries": timeseries.Panel,
        "heatmap": heatmap.Panel,
        "table": table.Panel,
        "stat": stat.Panel,
    }
    panel = kinds[spec.kind]().title(spec.title).height(8).span(12)
    if spec.description:
        panel = panel.description(spec.description)
    if spec.kind != "table":
        panel = panel.unit(spec.unit)
    if spec.kind == "timeseries" and spec.threshold is not None:
        from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
        from grafana_foundation_sdk.models.common import GraphTresholdsStyleMode

        style = GraphThresholdsStyleConfig().mode(GraphTresholdsStyleMode.LINE)
        panel = panel.thresholds_style(style)
    for i, query in enumerate(spec.queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + i))
        if query.legend:
            target = target.legend_format(query.legend)
        if spec.kind == "heatmap":
            target = target.format(PromQueryFormat.HEATMAP)
        if spec.kind == "table":
            target = target.instant().format(PromQueryFormat.TABLE)
        panel = panel.with_target(target)
    return panel


def to_json() -> str:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    return JSONEncoder(sort_keys=True, indent=2).encode(build()) + "\n"


def main() -> None:
    print(to_json(), end="")


if __name__ == "__main__":
    main()

"""Monitoring of the heart service: rules, dashboard, a local Prometheus, reports.

``monitoring/rules/`` holds the Prometheus rules and their promtool tests;
:mod:`monitoring.dashboard` builds the Grafana dashboard (grafana-foundation-sdk);
:mod:`monitoring.files` writes both into the kustomize component
``manifests/components/monitoring``; :mod:`monitoring.local` runs
Prometheus (Debian's package) against local servers (``make monitor``);
:mod:`monitoring.report` renders the main panels to PNG from ``query_range``.
"""

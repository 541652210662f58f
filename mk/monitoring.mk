# Monitoring (monitoring/): a real Prometheus on loopback with the shipped
# rules, the PNG report, the micro-benchmark and the generated manifests.
# See docs/monitoring.md. Prometheus comes from Debian's package.
MONITOR_PORT ?= 9090
.PHONY: prometheus monitor monitor-report monitor-bench monitoring-files

##@ Serve

prometheus: ## install Debian's prometheus package (prometheus, promtool; its service is not started)
	@monitoring/install-prometheus.sh

monitor: $(VENV)/.installed-dev prometheus ## predictor + transformer + Prometheus on 127.0.0.1 with the shipped rules; prints its URL (MONITOR_PORT)
	$(MAKE) data
	@test -f $(MODEL_DIR)/model.json || $(MAKE) train
	$(PY) -m monitoring.local --model_dir $(MODEL_DIR) --prometheus_port $(MONITOR_PORT) \
	  --predictor_http_port $(PREDICTOR_HTTP_PORT) --predictor_grpc_port $(PREDICTOR_GRPC_PORT) \
	  --transformer_http_port $(TRANSFORMER_HTTP_PORT) --transformer_grpc_port $(TRANSFORMER_GRPC_PORT)

monitor-report: $(VENV)/.installed-dev prometheus ## run the drift scenario on loopback and render the dashboard's main panels to reports/monitoring/*.png
	$(PY) -m monitoring.report --out reports/monitoring --model_dir $(MODEL_DIR)

monitor-bench: $(VENV)/.installed-dev ## per-request cost of drift tracking, metrics and request logs, side by side with validation
	$(PY) -m monitoring.bench --out reports/monitoring/bench.json

monitoring-files: $(VENV)/.installed-dev ## regenerate the PrometheusRule and dashboard JSON in manifests/components/monitoring
	$(PY) -m monitoring.files

TEST_PREREQS += prometheus

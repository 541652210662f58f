# Serving: the KServe predictor and transformer as local processes.
# The commands are the ones the container images run (predictor/Dockerfile,
# transformer/Dockerfile), bound to 127.0.0.1 unless SERVE_BIND says otherwise.
SERVE_BIND ?= 127.0.0.1
PREDICTOR_HTTP_PORT ?= 8085
PREDICTOR_GRPC_PORT ?= 8086
TRANSFORMER_HTTP_PORT ?= 8080
TRANSFORMER_GRPC_PORT ?= 8081
# v2 (REST) or grpc-v2: how the transformer calls the predictor.
PREDICTOR_PROTOCOL ?= v2
SERVE_LOGS ?= artifacts/serve-logs
SERVE_WAIT ?= 120

PREDICTOR_ADDRESS = 127.0.0.1:$(if $(filter grpc-v2,$(PREDICTOR_PROTOCOL)),$(PREDICTOR_GRPC_PORT),$(PREDICTOR_HTTP_PORT))
PREDICTOR_CMD = $(PY) -m predictor --model_dir $(MODEL_DIR) --model_name heart \
	--http_port $(PREDICTOR_HTTP_PORT) --grpc_port $(PREDICTOR_GRPC_PORT) --bind_address $(SERVE_BIND)
TRANSFORMER_CMD = $(PY) -m transformer --model_name heart --predictor_protocol $(PREDICTOR_PROTOCOL) \
	--predictor_host $(PREDICTOR_ADDRESS) \
	--http_port $(TRANSFORMER_HTTP_PORT) --grpc_port $(TRANSFORMER_GRPC_PORT) --bind_address $(SERVE_BIND)
EXAMPLE_CMD = $(PY) -m transformer.example --url http://127.0.0.1:$(TRANSFORMER_HTTP_PORT) \
	--grpc_address 127.0.0.1:$(TRANSFORMER_GRPC_PORT)

.PHONY: serve predict demo

##@ Serve

serve: $(VENV)/.installed-predictor $(VENV)/.installed-transformer ## run predictor + transformer in the foreground (Ctrl-C stops both; ports: PREDICTOR_*_PORT, TRANSFORMER_*_PORT)
	@test -f $(MODEL_DIR)/model.json || { echo "no model in $(MODEL_DIR): run 'make train' first" >&2; exit 1; }
	@trap 'kill $$pp $$tp 2>/dev/null; wait' EXIT INT TERM; \
	$(PREDICTOR_CMD) & pp=$$!; \
	$(TRANSFORMER_CMD) & tp=$$!; \
	wait -n $$pp $$tp

predict: $(VENV)/.installed-transformer ## send the example request (v2 REST + gRPC) to a running `make serve`
	$(EXAMPLE_CMD) --wait 10

demo: $(VENV)/.installed-predictor $(VENV)/.installed-transformer ## data -> train (if no model) -> both servers -> v2 REST + gRPC requests -> stop
	$(MAKE) data
	@test -f $(MODEL_DIR)/model.json || $(MAKE) train
	@mkdir -p $(SERVE_LOGS)
	@echo "starting the predictor and the transformer (logs in $(SERVE_LOGS))"
	@trap 'kill $$pp $$tp 2>/dev/null; wait 2>/dev/null' EXIT; \
	$(PREDICTOR_CMD) > $(SERVE_LOGS)/predictor.log 2>&1 & pp=$$!; \
	$(TRANSFORMER_CMD) > $(SERVE_LOGS)/transformer.log 2>&1 & tp=$$!; \
	if $(EXAMPLE_CMD) --wait $(SERVE_WAIT); then echo "demo: OK"; \
	else echo "demo FAILED; last log lines:" >&2; tail -n 15 $(SERVE_LOGS)/*.log >&2; exit 1; fi

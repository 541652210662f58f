# Open Inference Protocol conformance: third-party clients against our servers
# (tests/conformance, run by `make test`). See docs/serving.md.
##@ Develop
.PHONY: tritonclient-venv test-conformance

TRITONCLIENT_VENV ?= .venv-tritonclient
# NVIDIA's client in its own virtualenv: its gRPC stubs and KServe's register
# the same protobuf symbols (inference.*), so one process cannot import both.
TRITONCLIENT_PINS := tritonclient[http,grpc]==2.73.0
TRITONCLIENT_STAMP := $(TRITONCLIENT_VENV)/.installed-$(subst [,-,$(subst ],-,$(subst ==,-,$(TRITONCLIENT_PINS))))
# The Open Inference Protocol's OpenAPI document, read where CI has it (never copied).
OIP_SPECS ?= $(abspath ../shared/specs)

$(TRITONCLIENT_STAMP):
	@test -x $(TRITONCLIENT_VENV)/bin/python || $(PYTHON) -m venv $(TRITONCLIENT_VENV)
	@echo '*' > $(TRITONCLIENT_VENV)/.gitignore  # keeps git, ruff and pytest out of it
	$(TRITONCLIENT_VENV)/bin/python -m pip install -q --upgrade pip
	$(TRITONCLIENT_VENV)/bin/python -m pip install -q '$(TRITONCLIENT_PINS)'
	@touch $@

tritonclient-venv: $(TRITONCLIENT_STAMP) ## tritonclient[http,grpc] 2.73 in .venv-tritonclient (the conformance tier's third-party client)

test-conformance: $(VENV)/.installed-dev $(TRITONCLIENT_STAMP) ## the conformance tier only: tritonclient, KServe's clients, plain HTTP, schemathesis against the OIP spec
	OIP_SPECS='$(OIP_SPECS)' $(PY) -m pytest tests -m conformance $(PYTEST_ARGS)

TEST_PREREQS += $(TRITONCLIENT_STAMP)

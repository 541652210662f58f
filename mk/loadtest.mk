# Load tests and the peer benchmark (loadtest/). See docs/performance.md.
##@ Load
.PHONY: loadtest bench bench-quick loadgen mlserver-venv

LOADGEN := loadtest/bin/loadgen
space := $(subst ,, )
MLSERVER_VENV ?= .venv-mlserver
# MLServer pins differ from ours: its own virtualenv. uvloop 0.22 crashes its
# workers, hence the pin. scikit-learn matches the one that trained model.joblib.
MLSERVER_PINS := mlserver==1.7.1 mlserver-sklearn==1.7.1 uvloop==0.21.0 scikit-learn==1.9.1
# The stamp names the pins, so changing them reinstalls and nothing else does.
MLSERVER_STAMP := $(MLSERVER_VENV)/.installed-$(subst ==,-,$(subst $(space),_,$(MLSERVER_PINS)))
# Where `make loadtest` sends traffic: empty = start the local stack on loopback.
HOST ?=
HOST_HEADER ?=
PREDICTOR_HOST ?=
GRPC_HOST ?=
LOADTEST_ARGS ?=
BENCH_ARGS ?=

$(LOADGEN): loadtest/loadgen/main.go loadtest/loadgen/go.mod
	cd loadtest/loadgen && CGO_ENABLED=0 go build -trimpath -o ../bin/loadgen .

loadgen: $(LOADGEN) ## build the closed-loop HTTP load generator (Go, stdlib only)

$(MLSERVER_STAMP):
	@test -x $(MLSERVER_VENV)/bin/python || $(PYTHON) -m venv $(MLSERVER_VENV)
	@echo '*' > $(MLSERVER_VENV)/.gitignore  # keeps git, ruff and pytest out of it
	$(MLSERVER_VENV)/bin/python -m pip install -q --upgrade pip
	$(MLSERVER_VENV)/bin/python -m pip install -q $(MLSERVER_PINS)
	@touch $@

mlserver-venv: $(MLSERVER_STAMP) ## MLServer 1.7.1 + mlserver-sklearn in .venv-mlserver (benchmark peer)

loadtest: $(VENV)/.installed-dev ## Locust, headless, SLO-gated (HOST=... HOST_HEADER=... for a remote target)
	$(PY) -m loadtest.run --host '$(HOST)' --host-header '$(HOST_HEADER)' \
	  --predictor-host '$(PREDICTOR_HOST)' --grpc-host '$(GRPC_HOST)' \
	  --model-dir '$(MODEL_DIR)' $(LOADTEST_ARGS)

bench: $(VENV)/.installed-dev $(LOADGEN) $(MLSERVER_STAMP) ## side-by-side benchmark vs KServe sklearn server and MLServer
	$(PY) -m loadtest.bench --loadgen $(LOADGEN) --mlserver-python $(MLSERVER_VENV)/bin/python $(BENCH_ARGS)

bench-quick: $(VENV)/.installed-dev $(LOADGEN) $(MLSERVER_STAMP) ## the benchmark in under 2 minutes (shorter runs)
	$(PY) -m loadtest.bench --quick --out reports/bench/quick --loadgen $(LOADGEN) --mlserver-python $(MLSERVER_VENV)/bin/python $(BENCH_ARGS)

TEST_PREREQS += $(LOADGEN) $(MLSERVER_STAMP)

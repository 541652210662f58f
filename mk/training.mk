# Training: data, EDA, train (python -m training ...). Variables PY, VENV,
# MODEL_DIR and HEART_DATA_SOURCE come from the Makefile; MLflow reads
# MLFLOW_TRACKING_URI / MLFLOW_S3_ENDPOINT_URL / AWS_* from the environment.
DATA_CACHE ?= data/cache
TRAIN_ARGS ?=
CLEVELAND := $(DATA_CACHE)/processed.cleveland.data

.PHONY: data eda train

##@ Data

data: $(VENV)/.installed-training ## download + sha256-verify the UCI files into data/cache (HEART_DATA_SOURCE = mirror)
	$(PY) -m training data --cache-dir $(DATA_CACHE)

# The verified Cleveland file: fetched once, then reused by eda and train.
$(CLEVELAND): | $(VENV)/.installed-training
	$(PY) -m training data --cache-dir $(DATA_CACHE)

eda: $(VENV)/.installed-training $(CLEVELAND) ## EDA plots + report into reports/eda (also logged to MLflow)
	$(PY) -m training eda --cache-dir $(DATA_CACHE)

##@ Train

train: $(VENV)/.installed-training $(CLEVELAND) ## cross-validate, register the champion, export MODEL_DIR (default artifacts/model; TRAIN_ARGS = extra flags)
	$(PY) -m training train --cache-dir $(DATA_CACHE) --model-dir $(MODEL_DIR) $(TRAIN_ARGS)

# `make mlflow-serve`: a registered version through MLflow's own server
# (docs/training.md#mlflow), from the embedded store unless
# MLFLOW_TRACKING_URI names a server. uvicorn comes from the virtualenv.
MLFLOW_MODEL_URI ?= models:/heart@champion
MLFLOW_SERVE_PORT ?= 5001

.PHONY: mlflow-serve

##@ Serve

mlflow-serve: $(VENV)/.installed-training ## serve MLFLOW_MODEL_URI (default models:/heart@champion) with `mlflow models serve` on 127.0.0.1:MLFLOW_SERVE_PORT (JSON and CSV; answers risk, label)
	MLFLOW_TRACKING_URI="$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}" PATH="$(abspath $(VENV))/bin:$$PATH" \
	  $(VENV)/bin/mlflow models serve -m "$(MLFLOW_MODEL_URI)" --env-manager local -h 127.0.0.1 -p $(MLFLOW_SERVE_PORT)

# heart-kserve: the front door. `make help` lists every target.
# Component targets live in mk/*.mk (one file per component).
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Where the UCI files come from: unset = UCI's own addresses; a folder or a
# base URL = a mirror (CI uses ../shared/data/heart-disease).
HEART_DATA_SOURCE ?=
export HEART_DATA_SOURCE
# Where trained models are exported (model.joblib + model.json).
MODEL_DIR ?= artifacts/model

# $(VENV)/.installed-<extra>: the virtualenv with that pyproject extra installed.
$(VENV)/.installed-%: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$*]'
	@touch $@

.PHONY: help install test test-unit test-integration lint format typecheck docs clean

# `make help` lists every target that has a `## text` help line, under the
# `##@ Group` line above it (mk/help.awk), groups in lifecycle order. Within
# a group, targets keep their order in HELP_FILES, read first.
HELP_GROUPS := Data Train Serve Cluster Load Develop
HELP_FILES := mk/training.mk mk/serving.mk mk/ray.mk mk/kind.mk mk/loadtest.mk

##@ Develop

help: ## list the targets by group, in lifecycle order (the default goal)
	@if [ -t 1 ]; then color=1; else color=; fi; \
	awk -v groups='$(HELP_GROUPS)' -v color="$$color" -f mk/help.awk \
	  $(wildcard $(HELP_FILES)) $(filter-out $(HELP_FILES),$(MAKEFILE_LIST))

install: $(VENV)/.installed-dev ## create .venv with every component and the dev tools

lint: $(VENV)/.installed-dev ## ruff check, ruff format --check, the import rules (lint-imports)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed-dev ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: $(VENV)/.installed-dev ## mypy on our packages
	$(PY) -m mypy

docs: $(VENV)/.installed-dev ## regenerate docs/contract.md from the feature contract
	@mkdir -p docs
	$(PY) -m transformer.contract --markdown > docs/contract.md

docs-check: docs ## fail when a generated doc is out of date (drift gate)
	git diff --exit-code -- docs/contract.md

# Component makefiles append extra prerequisites of `make test` (tool
# virtualenvs, rendered files) to TEST_PREREQS.
.SECONDEXPANSION:
test: $(VENV)/.installed-dev $$(TEST_PREREQS) ## the whole suite: lint, types, drift gate, unit + integration tests
	$(MAKE) lint typecheck docs-check
	$(PY) -m pytest tests -m "not e2e" $(PYTEST_ARGS)

test-unit: $(VENV)/.installed-dev ## unit tests only (fast, no processes)
	$(PY) -m pytest tests -m unit $(PYTEST_ARGS)

test-integration: $(VENV)/.installed-dev ## integration tests (real servers on loopback)
	$(PY) -m pytest tests -m integration $(PYTEST_ARGS)

clean: ## remove caches, artifacts and the virtualenv
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache artifacts reports mlruns mlflow.db data/cache *.egg-info

-include mk/*.mk

# Ray: hyper-parameter search (Ray Tune) and batch scoring (Ray Data).
# Local Ray by default; RAY_ADDRESS=auto or ray://host:10001 runs on a cluster.
# Variables PY, VENV, MODEL_DIR, HEART_DATA_SOURCE come from the Makefile.
TUNE_SAMPLES ?= 20
TUNE_TIME ?= 0
TUNE_STORAGE ?= artifacts/ray
TUNE_ARGS ?=
RESUME ?=
SCORE_ARGS ?=
BENCH_ROWS ?= 1000000
DATA_CACHE ?= data/cache

.PHONY: tune tune-space score score-bench

##@ Train

tune: $(VENV)/.installed-training ## Ray Tune search, best -> 'challenger'; promoted -> champion + MODEL_DIR (TUNE_SAMPLES=20 TUNE_TIME=s RESUME=1 TUNE_ARGS=...)
	$(PY) -m training tune --cache-dir $(DATA_CACHE) --storage $(TUNE_STORAGE) --champion-dir $(MODEL_DIR) \
	  --num-samples $(TUNE_SAMPLES) --time-budget-s $(TUNE_TIME) $(if $(RESUME),--resume) $(TUNE_ARGS)

tune-space: $(VENV)/.installed-training ## print the search space of make tune
	$(PY) -m training tune --show-space

##@ Serve

score: $(VENV)/.installed-batch ## batch-score INPUT=file.csv|.parquet into OUTPUT=... with Ray Data (MODEL_DIR; SCORE_ARGS=...)
	@test -n "$(INPUT)" -a -n "$(OUTPUT)" || { echo "usage: make score INPUT=records.csv OUTPUT=scores.csv" >&2; exit 2; }
	$(PY) -m batch score --input $(INPUT) --output $(OUTPUT) --model-dir $(MODEL_DIR) $(SCORE_ARGS)

score-bench: $(VENV)/.installed-batch ## Ray Data vs plain pandas on BENCH_ROWS=1000000 generated rows: rows/s, start-up, peak memory
	@test -f $(MODEL_DIR)/model.json || $(MAKE) train
	$(PY) -m batch bench --rows $(BENCH_ROWS) --model-dir $(MODEL_DIR) --out reports/score-bench

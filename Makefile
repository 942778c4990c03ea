# Quick start: `make reproduce` (validate, train both learners, evaluate against the papers -> results/REPORT.md)
# and `make test`. `make reproduce FULL=1` uses the papers' training budgets.
# Both create .venv with Python 3.11 and install the pinned versions on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt

.PHONY: test reproduce lint bench bench-quality leaderboard clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[train,dev,rllib,torchrl,docs,video]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

reproduce: $(STAMP)
	$(BIN)/python reproduce.py $(if $(FULL),--full,)

lint: $(STAMP)
	$(BIN)/ruff check .

# the speed suite: benchmarks/results/*.json and BENCHMARKS.md (generated, never hand-edited)
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# time to quality (long: trains every learner at four budgets), then re-renders BENCHMARKS.md
bench-quality: $(STAMP)
	$(BIN)/python benchmarks/bench_quality.py
	$(BIN)/python benchmarks/run_all.py --render-only

# every agent on every registered scenario, >= 5 seeds: LEADERBOARD.md, leaderboard.csv/json
# (trained checkpoints from results/runs, written by `make reproduce`; a missing one is trained first)
leaderboard: $(STAMP)
	$(BIN)/python benchmarks/leaderboard.py --seeds 5

clean:
	rm -rf $(VENV) results .pytest_cache

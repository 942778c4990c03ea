# Quick start: `make reproduce` (validate, train both learners, evaluate against the papers -> results/REPORT.md)
# and `make test` (ruff, the docs build, pytest, the leaderboard check); `make docs` builds the site into site/
# `make reproduce FULL=1` uses the papers' training budgets.
# Both create .venv with Python 3.11 and install the pinned versions on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt

.PHONY: test reproduce lint docs bench bench-quality leaderboard leaderboard-check clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[train,dev,rllib,torchrl,docs,video,leaderboard]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site
	$(BIN)/python -m pytest -n 2 --dist loadgroup
	$(BIN)/python benchmarks/leaderboard.py --check

reproduce: $(STAMP)
	$(BIN)/python reproduce.py $(if $(FULL),--full,)

lint: $(STAMP)
	$(BIN)/ruff check .

# the documentation site -> site/ (open site/index.html); env pages, config tables and the validation report
# are written from the code at build time (docs/hooks.py), the quick start notebook is executed
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# the speed suite: benchmarks/results/*.json and BENCHMARKS.md (generated, never hand-edited)
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# time to quality (long: trains every learner at four budgets), then re-renders BENCHMARKS.md
bench-quality: $(STAMP)
	$(BIN)/python benchmarks/bench_quality.py
	$(BIN)/python benchmarks/run_all.py --render-only

# every agent on every registered scenario, >= 5 seeds: LEADERBOARD.md, leaderboard.csv/json
# (trained checkpoints from results/runs, written by `make reproduce`; a missing one is trained first, at its
# learner's full budget, one per core at a time)
leaderboard: $(STAMP)
	$(BIN)/python benchmarks/leaderboard.py --seeds 5

# the committed LEADERBOARD.md / leaderboard.json against the code and the weights in the repository: rendering,
# statistics from the per-seed values, and every baseline and submission replayed on one evaluation episode
leaderboard-check: $(STAMP)
	$(BIN)/python benchmarks/leaderboard.py --check

clean:
	rm -rf $(VENV) results site .pytest_cache

# The two commands a user needs: `make run` and `make test`. Everything else bootstraps them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-chaos lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## start Redis, the Callbell sandbox, the API and a worker on embedded defaults
	$(BIN)/leadrelay dev

test: $(STAMP)  ## run the whole suite against a private Redis the tests start themselves
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info

test-chaos: $(STAMP)  ## the long fault-injection run: 1,000 leads, 20 worker kills
	CHAOS_LEADS=1000 CHAOS_KILLS=20 $(BIN)/python -m pytest -m chaos -v

bench: $(STAMP)  ## benchmarks (not part of make test): prints tables, writes bench-results/latest.json
	$(BIN)/python -m tests.benchmarks.run

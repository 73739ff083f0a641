# Two commands matter: `make run` and `make test`. Everything else is for maintainers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-fast fuzz serve bench bench-history bench-peers lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Node and the npm packages of package-lock.json: the tests run Get code's Node snippets.
NODE_DEPS := node_modules/.package-lock.json
$(NODE_DEPS): package.json package-lock.json
	tests/provision.sh node
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## run: start the playground on http://127.0.0.1:5000 (offline demo model without a key)
run: $(VENV)/.runtime
	$(BIN)/python app.py

# Two pytest workers: the suite is mostly CPU, and this machine has two cores.
PYTEST_WORKERS ?= 2

## test: every layer — unit, integration against a local fake upstream, browser (Chromium)
test: $(VENV)/.dev $(NODE_DEPS)
	PYTHON=$(BIN)/python tests/provision.sh chromium postgresql redis-server node
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

## test-fast: every layer but the browser one
test-fast: $(VENV)/.dev $(NODE_DEPS)
	PYTHON=$(BIN)/python tests/provision.sh postgresql redis-server node
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not e2e" $(PYTEST_ARGS)

## fuzz: the route fuzzer at length: FUZZ_EXAMPLES requests (make test runs 2,500), with counts
FUZZ_EXAMPLES ?= 100000
fuzz: $(VENV)/.dev
	PYTHON=$(BIN)/python tests/provision.sh postgresql
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -p tests.fuzzing \
		-p no:cacheprovider tests/test_fuzz.py -k no_route_answers_500 $(PYTEST_ARGS)

## serve: the production server (gunicorn, gevent workers), never in debug mode
serve: $(VENV)/.runtime
	FLASK_DEBUG=0 $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) "app:create_app()"

## bench: latency, streaming, concurrency, render, page-weight, live and catalogue benchmarks (offline)
bench: $(VENV)/.dev
	PYTHON=$(BIN)/python tests/provision.sh chromium
	$(BIN)/python -m bench $(BENCH_ARGS)

## bench-history: search, pages, export and prune on RUNS runs (default 1,000,000; --quick: 100,000)
RUNS ?= 1000000
bench-history: $(VENV)/.dev
	PYTHON=$(BIN)/python tests/provision.sh postgresql
	$(BIN)/python -m bench.history --runs $(RUNS) $(BENCH_ARGS)

# The peers live in environments of their own under bench/peers/ (git-ignored), from PyPI and
# npm only: never in the app's requirements, never part of `make test`.
PEERS := bench/peers
$(PEERS)/.venv/.installed: $(PEERS)/requirements.txt
	$(PYTHON) -m venv $(PEERS)/.venv
	$(PEERS)/.venv/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/.venv/bin/pip install --quiet -r $(PEERS)/requirements.txt
	touch $@

$(PEERS)/node_modules/.package-lock.json: $(PEERS)/package.json $(PEERS)/package-lock.json
	tests/provision.sh node
	cd $(PEERS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## bench-peers: the app beside the LiteLLM proxy and the Portkey gateway, ratios to each (offline)
bench-peers: $(VENV)/.dev $(PEERS)/.venv/.installed $(PEERS)/node_modules/.package-lock.json
	$(BIN)/python -m bench.peers $(BENCH_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules bench/peers/.venv bench/peers/node_modules .pytest_cache .ruff_cache .hypothesis test-artifacts

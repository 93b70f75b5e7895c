# perpdex: every target sets itself up on a fresh machine (idempotent).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ANVIL := node_modules/.bin/anvil
WEB_APP := src/perpdex/webapp/static/trade.html

.PHONY: setup test lint bench demo clean

setup: $(STAMP) $(ANVIL) $(WEB_APP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,cluster]'
	touch $(STAMP)

# npm ci installs exactly the lock file and never rewrites it: a fresh clone stays clean
$(ANVIL): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(ANVIL)

# the web app's pages, bundled by esbuild from web/ (docs/web.md); git-ignored
$(WEB_APP): $(ANVIL) $(shell find web -type f)
	node web/build.mjs

test: setup
	$(BIN)/pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	node_modules/.bin/tsc -p web

bench: setup
	$(BIN)/perpdex bench eip712
	$(BIN)/perpdex bench gas
	mkdir -p build && $(BIN)/perpdex bench gen-orders --n 1000000 > build/orders.jsonl
	$(BIN)/perpdex bench engine --orders build/orders.jsonl

demo: setup
	$(BIN)/perpdex demo

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .mypy_cache .ruff_cache .hypothesis

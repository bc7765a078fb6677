# trading-engine: set-up, tests and benchmarks. Every target installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser test lint typecheck pytest bench run clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,report,bridge,research]'
	touch $(STAMP)

# The HTML report's test opens it in Debian's headless Chromium (installed when missing; root).
CHROMIUM := $(shell command -v chromium || command -v chromium-browser)
browser:
ifeq ($(CHROMIUM),)
	apt-get update -qq && apt-get install -y -qq chromium chromium-driver
endif

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

pytest: $(STAMP) browser
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,report,bridge,research,bench]'
	$(BIN)/python scripts/bench_indicators.py
	$(BIN)/python scripts/bench_pipeline.py
	$(BIN)/python scripts/bench_mt5sim.py
	$(BIN)/python scripts/bench_engine.py
	$(BIN)/python scripts/bench_floor.py
	$(BIN)/python scripts/bench_journal.py
	$(BIN)/python scripts/bench_optimize.py

run: $(STAMP)
	$(BIN)/trading-engine run --config configs/eurusd.yaml --speed 0 --max-bars 3000 --fresh \
		--set journal.path=journal/demo.db --set logging.format=text \
		--set orchestrator.status_log_interval=60

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

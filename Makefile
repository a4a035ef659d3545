# Set-up is part of every target: a fresh clone needs only `make train` or `make test`.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
ARGS ?=

.PHONY: train test test-fast bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	touch $(STAMP)

## Train A3C on Breakout with the default (seed) preset; extra options via ARGS="--frames 1000000".
train: $(STAMP)
	$(BIN)/a3c train $(ARGS)

## Lint, types and the whole test suite.
test: $(STAMP) lint
	$(BIN)/pytest -q --durations=10

## The fast tier (maths, config, environments, bad input; no training runs): under 90 s.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow" --durations=5

lint: $(STAMP)
	$(BIN)/ruff check a3c tests benchmarks experiments
	$(BIN)/ruff format --check a3c tests benchmarks experiments
	$(BIN)/mypy

## Training throughput on this machine (ARGS="--json --seconds 30").
bench: $(STAMP)
	$(BIN)/a3c bench $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

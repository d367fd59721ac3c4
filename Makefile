# Datavern: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint unit browser-deps clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $(STAMP)

## setup: create .venv with the `datavern` command in it
setup: $(STAMP)

## demo: create the demo company (SQLite, inline jobs), apply its register and serve it
demo: setup
	$(BIN)/datavern demo

## browser-deps: Debian's chromium for the browser tests (Playwright drives it; nothing is downloaded by Playwright)
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null) \
	  || { echo "could not install chromium (need root and apt)"; exit 1; }; \
	fi

## lint: ruff and mypy
lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## test: set up and pass the whole suite (lint, unit, integration, e2e in Chromium)
test: setup browser-deps lint
	$(BIN)/python -m pytest

## unit: the fast tests only
unit: setup
	$(BIN)/python -m pytest tests/unit -q

clean:
	rm -rf $(VENV) .datavern .pytest_cache .mypy_cache .ruff_cache

## docs: regenerate docs/cli.md from the commands
docs: setup
	$(BIN)/python -m datavern.cli.reference docs/cli.md

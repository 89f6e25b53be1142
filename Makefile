# Portfolio: `make run` serves the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint bench system-deps system-deps-test clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { scripts/apt-install python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip

# Re-install when pyproject.toml changes.
$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-runtime

system-deps:
	@scripts/apt-install libmagic1

system-deps-test: system-deps
	@scripts/apt-install postgresql chromium

run: system-deps $(VENV)/.installed-runtime
	mkdir -p instance
	APP_ENV=development $(BIN)/flask db upgrade
	APP_ENV=development $(BIN)/flask demo-data
	@echo "Serving on http://127.0.0.1:5000  (Ctrl+C stops)"
	APP_ENV=development $(BIN)/flask run --host 127.0.0.1 --port 5000

test: system-deps-test $(VENV)/.installed-dev
	scripts/test.sh $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check portfolio tests
	$(BIN)/pip-audit --skip-editable --progress-spinner off

clean:
	rm -rf $(VENV) .pytest_cache

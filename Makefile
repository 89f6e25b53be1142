# Portfolio: `make run` serves the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
#: Port `make run` serves on; the default PUBLIC_BASE_URL follows it.
PORT ?= 5000
export PORT

.PHONY: run test lint lock bench bench-signing bench-upload bench-export system-deps system-deps-test clean vendor

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { scripts/apt-install python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip

# Dependencies come from the hash-pinned locks in requirements/ (`make lock` regenerates them
# from pyproject.toml); the project itself is installed on top without resolving anything.
# Re-install when a lock or pyproject.toml changes.
$(VENV)/.installed-runtime: requirements/runtime.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/runtime.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed-runtime

UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --generate-hashes --universal \
	--python-version 3.11 --no-emit-package portfolio --custom-compile-command "make lock"

#: Re-resolve the locks after changing dependencies in pyproject.toml (`make lock UPGRADE=1`
#: moves every pin to the newest release allowed); the runtime lock follows the dev lock's pins.
lock: $(VENV)/.installed-dev
	$(UV_COMPILE) --extra dev $(if $(UPGRADE),--upgrade) -o requirements/dev.lock
	$(UV_COMPILE) -c requirements/dev.lock -o requirements/runtime.lock

# libmagic sniffs uploads; ffmpeg (video poster frames), poppler-utils (PDF first pages) and
# LibreOffice headless (office documents to PDF) make the evidence previews.
system-deps:
	@scripts/apt-install libmagic1 ffmpeg poppler-utils libreoffice-writer-nogui \
		libreoffice-calc-nogui libreoffice-impress-nogui

system-deps-test: system-deps
	@scripts/apt-install postgresql chromium redis-server

# Front-end packages: installed from package-lock.json by npm (never copied into the repo),
# re-installed when the lock changes, and the needed bundles copied to static/vendor/.
node_modules/.installed: package.json $(wildcard package-lock.json)
	@command -v npm >/dev/null 2>&1 || scripts/apt-install nodejs npm
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	touch $@

# The upload widget: a bundle of only the Uppy parts the page uses, built by esbuild from the
# npm packages (scripts/uppy-bundle.*), rebuilt when the lock or the entry points change.
static/vendor/.copied: node_modules/.installed scripts/uppy-bundle.js scripts/uppy-bundle.css
	mkdir -p static/vendor/uppy
	node_modules/.bin/esbuild scripts/uppy-bundle.js --bundle --minify --format=iife \
		--target=es2019 --legal-comments=eof --outfile=static/vendor/uppy/uppy.min.js --log-level=warning
	node_modules/.bin/esbuild scripts/uppy-bundle.css --bundle --minify \
		--outfile=static/vendor/uppy/uppy.min.css --log-level=warning
	touch $@

vendor: static/vendor/.copied

run: system-deps vendor $(VENV)/.installed-runtime
	mkdir -p instance
	APP_ENV=development $(BIN)/flask db upgrade
	APP_ENV=development $(BIN)/flask demo-data
	scripts/run.sh

test: system-deps-test vendor $(VENV)/.installed-dev
	scripts/test.sh $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check portfolio tests
	$(BIN)/python scripts/audit_deps.py

# Performance at scale: throwaway PostgreSQL clusters with 10k and 100k workers, the app under
# gunicorn with nginx's cache in front, wrk side by side with a minimal endpoint and nginx
# serving a static file; rewrites the table in bench/README.md (about half an hour;
# BENCH_ARGS="--scale 10000" for one quicker scale).
bench: system-deps $(VENV)/.installed-dev
	@scripts/apt-install postgresql wrk
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || scripts/apt-install nginx
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# OB 3.0 signatures per second in one process (before/after), and 10,000 awards signed by 2 job
# worker processes against a throwaway PostgreSQL and Redis (bench/signing.py).
bench-signing: system-deps $(VENV)/.installed-dev
	@scripts/apt-install postgresql redis-server
	$(BIN)/python bench/signing.py $(BENCH_ARGS)

# 1 GiB through the streaming upload path vs a plain boto3 upload to the same moto endpoint.
bench-upload: system-deps $(VENV)/.installed-dev
	$(BIN)/python bench/upload_stream.py

# The background ZIP export of a 1 GiB portfolio: wall time and the worker's memory growth.
bench-export: system-deps $(VENV)/.installed-dev
	$(BIN)/python bench/zip_export.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

# ClinicOS — the two commands a newcomer needs: `make run` and `make test`.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

# Django 6 needs Python 3.12 or newer. Try, in order: $(PYTHON), plain commands, then the
# versions pyenv has installed (pyenv's shims only run with PYENV_VERSION set, so call the
# interpreters directly).
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
# Newest first: 3.13 (plain command, then pyenv's) before 3.12, then whatever python3 is.
PYTHON_CANDIDATES := $(PYTHON) \
	$(foreach v,3.14 3.13 3.12,python$(v) $(wildcard $(PYENV_ROOT)/versions/$(v)*/bin/python3) /usr/local/bin/python$(v) /usr/bin/python$(v)) \
	python3 python
FIND_PYTHON := for py in $(PYTHON_CANDIDATES); do \
	  if "$$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then echo "$$py"; exit 0; fi; \
	done; exit 1

.PHONY: help install run test test-quick test-security e2e lint migrate seed check clean bench

help:
	@echo "make run   - set up (virtualenv, packages, database, demo data) and serve http://127.0.0.1:8000"
	@echo "make test  - set up and run the whole test suite (SQLite, or PostgreSQL when DATABASE_URL is set)"
	@echo "make test-quick - the edit loop: everything but the browser, the URL walk and schemathesis"
	@echo "make test-security - the security suite alone (hostile input, formula injection, crashes, restore)"

$(STAMP): requirements.txt
	@py=$$($(FIND_PYTHON)) || { echo >&2 "ClinicOS needs Python 3.12 or newer (Django 6). None was found: install one, or run 'make PYTHON=/path/to/python3.13 ...'."; exit 1; }; \
	echo "Using $$py ($$($$py --version))"; \
	if [ ! -x $(VPY) ] || ! $(VPY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then rm -rf $(VENV); "$$py" -m venv $(VENV); fi
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) .env

# Development settings for manage.py run by hand (DEBUG on, a random local SECRET_KEY).
# Never used by the tests; production sets its own environment.
.env:
	@printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" > $@
	@echo "Wrote .env for local development (DEBUG=1)."

migrate: install
	DEBUG=1 $(VPY) manage.py migrate --no-input

seed: migrate
	DEBUG=1 $(VPY) manage.py seed_demo

run: seed
	@echo "ClinicOS at http://127.0.0.1:8000 — log in as frontdesk@abc01.example / Demo-Clinic-2025!"
	@# The background worker (critical-result escalation, reports) runs beside the server and stops with it.
	DEBUG=1 $(VPY) manage.py worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(VPY) manage.py runserver 127.0.0.1:8000

# The suite runs on every core (pytest-xdist, one test database per worker); PYTEST_WORKERS=0
# runs it in this one process. worksteal keeps each module's tests together on a worker (its
# shared rows are built once) and hands a long tail to whichever worker is idle.
PYTEST_WORKERS ?= auto
PYTEST := $(VPY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=25

test: install lint
	$(VPY) manage.py makemigrations --check --dry-run --settings=clinicos.settings_test
	$(PYTEST) $(PYTEST_ARGS)
	@# Tests that measure time run alone, after the parallel suite.
	$(VPY) -m pytest -n 0 $(PYTEST_ARGS) -m timing

# ruff (lint and format) and mypy with django-stubs, configured in pyproject.toml.
# Business rules stay readable: no block of a services module rated worse than C by radon
# (it prints the ones that are, and the build fails).
RADON_PATHS := $(wildcard */services.py */services)

lint: install
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VPY) -m mypy .
	@too_complex=$$($(VPY) -m radon cc --min D --show-complexity $(RADON_PATHS)); \
	if [ -n "$$too_complex" ]; then echo "$$too_complex"; echo >&2 "radon: split the blocks above (rated D or worse) into smaller functions."; exit 1; fi

# For the edit loop: no lint, no browser, no URL walk, no schemathesis.
test-quick: install
	$(PYTEST) -m "not e2e and not url_walk and not schemathesis" $(PYTEST_ARGS)

e2e: install
	$(PYTEST) -m e2e $(PYTEST_ARGS)

# The standing security suite alone (make test runs it too): hostile input against every
# operation and form, formula injection, crash safety and restore (the last two on PostgreSQL).
test-security: install
	$(PYTEST) -m security $(PYTEST_ARGS)

check: install
	DEBUG=1 $(VPY) manage.py check

# The benchmark (optional; PostgreSQL and wrk): loads the BENCH clinic once (a few minutes),
# then measures every page with gunicorn and production settings. See the README.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clinicos_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/5
BENCH_SIZES ?= --patients 1000000 --appointments 2000000 --doctors 40 --leads 100000 --invoices 1000000
BENCH_ARGS ?=

bench: install
	@command -v wrk >/dev/null || { echo >&2 "make bench drives the pages with wrk: apt-get install wrk"; exit 1; }
	export DATABASE_URL="$(BENCH_DATABASE_URL)" REDIS_URL="$(BENCH_REDIS_URL)" DEBUG=0 ALLOWED_HOSTS=127.0.0.1,localhost \
	  BEHIND_PROXY=1 SECRET_KEY="benchmark-$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"; \
	$(VPY) manage.py bench_database && \
	$(VPY) manage.py migrate --no-input -v0 && \
	$(VPY) manage.py collectstatic --no-input -v0 && \
	$(VPY) manage.py seed_bench --if-missing $(BENCH_SIZES) && \
	$(VPY) manage.py bench_run $(BENCH_ARGS) && \
	$(VPY) manage.py bench_outbox && \
	$(VPY) manage.py bench_import

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts .test-databases

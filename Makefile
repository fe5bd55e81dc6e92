# Marquee developer commands; `make help` lists them.
# Configuration comes from environment variables (README.md, Configuration),
# e.g. `PORT=9000 SEED_DEMO=0 make run` or `make run PORT=9000`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Running the app needs requirements.txt only; the tests, linters and load
# tools (requirements-dev.txt) come with `make test` and friends. Each stamp's
# name carries a checksum of its requirements files, so the venv is
# re-installed exactly when one of them changes (not when it is touched).
checksum = $(shell cat $(1) | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(call checksum,requirements.txt)
DEV_STAMP := $(VENV)/.installed-dev-$(call checksum,requirements.txt requirements-dev.txt)

.PHONY: help venv venv-dev services db run test test-faults compiler lint chromium pgbouncer bench soak audit

help:
	@echo "make venv      create $(VENV) and install requirements.txt (only when it changed)"
	@echo "make venv-dev  the same, plus requirements-dev.txt (tests, ruff, load tools)"
	@echo "make services  make sure PostgreSQL and Redis (DATABASE_URL, REDIS_URL) are up"
	@echo "make db        services + create the database if missing + apply migrations"
	@echo "make run       venv + db + seed a demo show (SEED_DEMO=0 skips), then web, worker"
	@echo "               and scheduler in the foreground until Ctrl-C (APP_ENV=development)"
	@echo "make test      venv-dev + services + chromium, then the whole test suite (APP_ENV=test;"
	@echo "               the tests make their own database). PYTEST_ARGS='-k hold -x' narrows it"
	@echo "make test-faults  venv-dev + services + a C compiler, then only the fault-injection suite"
	@echo "               (tests/faults: kills and restarts private Redis/PostgreSQL servers and"
	@echo "               gunicorn workers; never the shared ones). PYTEST_ARGS narrows it too"
	@echo "make bench     load test in production mode on a scratch database (wrk, pgbench);"
	@echo "               writes bench/results/latest.json and latest.md"
	@echo "make soak      mixed load for SOAK_SECONDS (default 600) with an invariant checker every"
	@echo "               second, production mode on a scratch database; not in CI"
	@echo "make audit     pip-audit of requirements*.txt in its own venv (var/audit-venv)"
	@echo "make lint      ruff check"

venv: $(RUN_STAMP)
venv-dev: $(DEV_STAMP)

# $(1): the requirements file to install; $(2): the stamp kinds it satisfies.
define install_requirements
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed: make PYTHON=python3.11 ..." >&2; exit 1; }
	@if ! $(BIN)/python -c '' 2>/dev/null; then \
		echo "creating $(VENV) with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv --clear $(VENV); \
	fi
	$(BIN)/python -m pip install --disable-pip-version-check -r $(1)
	@for kind in $(2); do rm -f $(VENV)/.installed-$$kind-*; done
endef

$(RUN_STAMP):
	$(call install_requirements,requirements.txt,run)
	@touch $@

# requirements-dev.txt includes requirements.txt, so this satisfies `venv` too.
$(DEV_STAMP):
	$(call install_requirements,requirements-dev.txt,run dev)
	@touch $@ $(RUN_STAMP)

services:
	@bash scripts/ensure-services.sh

# APP_ENV defaults to development for the dev-server targets only: the app
# itself defaults to production, which insists on a SECRET_KEY.
db run: export APP_ENV ?= development

db: venv services
	$(BIN)/python scripts/create_db.py
	$(BIN)/flask --app wsgi db upgrade

run: venv db
	@case "$$(tr '[:upper:]' '[:lower:]' <<<"$${SEED_DEMO:-1}")" in \
		0|false|no|off) echo "SEED_DEMO=$$SEED_DEMO: not seeding a demo show" ;; \
		*) $(BIN)/flask --app wsgi seed-demo ;; \
	esac
	@echo
	@echo "  Marquee ($$APP_ENV): open http://localhost:$${PORT:-8000}/   (Ctrl-C stops everything)"
	@echo "  Confirmation e-mails: $(if $(SMTP_URL),sent through SMTP_URL,written to $(abspath $(or $(MAILBOX_DIR),var/mailbox))/ (one .eml file per message))"
	@echo
	@exec bash scripts/run-all.sh

# The suite creates and drops its own database on the servers named by
# DATABASE_URL / REDIS_URL, so no migrations run against the dev database here.
test: export APP_ENV := test
test: venv-dev services chromium pgbouncer
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fault suite is left out of `make test` (addopts has -m "not faults");
# the -m here comes last and wins. It starts its own redis-server, PostgreSQL
# cluster and gunicorns on free ports, so the shared services stay untouched.
test-faults: export APP_ENV := test
test-faults: venv-dev services compiler
	$(BIN)/python -m pytest -m faults tests/faults $(PYTEST_ARGS)

chromium:
	@bash scripts/ensure-chromium.sh

# tests/test_pgbouncer.py runs holds through a private PgBouncer (Debian's
# package, installed with apt-get when root; the test is skipped without it).
pgbouncer:
	@bash scripts/ensure-pgbouncer.sh

# The clock-skew faults build a small LD_PRELOAD library (gcc installed with
# apt-get when missing, as root).
compiler:
	@bash scripts/ensure-cc.sh

lint: venv-dev
	$(BIN)/ruff check .

# Installs wrk from Debian's packages when missing (root only); pgbench comes
# with the PostgreSQL client.
bench: venv-dev services
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y wrk >/dev/null; } \
		|| { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python bench/run.py

# Not in CI: ten minutes by default (SOAK_SECONDS=60 make soak for a short run).
soak: venv-dev services
	$(BIN)/python scripts/soak.py

# Vulnerability audit of the pinned requirements (needs PyPI's JSON API or an OSV mirror).
audit:
	bash scripts/audit.sh

# Ambassador: `make run` for the demo, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The PostgreSQL the suite runs against a second time (trust auth, database test).
TEST_POSTGRES_URL ?= postgresql://127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres bench translations system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/ambassador db upgrade
	$(BIN)/ambassador demo
	-$(BIN)/ambassador digest send
	@echo "Ambassador demo on http://$(HOST):$(PORT)  (demo login: pick a person; sent mail: /admin/outbox)"
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# Debian packages the tests drive for real: Chromium (Playwright), and
# OpenLDAP's slapd with ldap-utils and openssl (the SSO tests start their own
# slapd on a loopback port, with a throw-away TLS certificate).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@{ test -x /usr/sbin/slapd && command -v ldapsearch >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; } || { \
	  echo "Installing Debian's slapd, ldap-utils and openssl for the LDAP tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils openssl >/dev/null; }

test: $(VENV)/.installed system-deps
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: $(VENV)/.installed
	AMBASSADOR_TEST_DATABASE=sqlite $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed
	AMBASSADOR_TEST_DATABASE=$(TEST_POSTGRES_URL) $(BIN)/pytest -q $(PYTEST_ARGS)

# Every benchmark runs; the target fails if any of them missed its bar.
BENCHES := bench/redirect.py bench/share_page_queries.py bench/dashboard.py bench/digest_bench.py
bench: $(VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@failed=0; for b in $(BENCHES); do $(BIN)/python $$b || failed=1; done; exit $$failed

translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o intranet_plugin/translations/messages.pot .
	$(BIN)/pybabel update -i intranet_plugin/translations/messages.pot -d intranet_plugin/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d intranet_plugin/translations

clean:
	rm -rf $(VENV) instance .pytest_cache

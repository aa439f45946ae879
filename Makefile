# Ambassador: `make run` for the demo, `make test` for the whole suite,
# `make lock` after changing a dependency in pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The PostgreSQL the suite runs against a second time (trust auth, database test).
TEST_POSTGRES_URL ?= postgresql://127.0.0.1:5432/test
# Exact versions, with hashes, of every package: all extras (development,
# tests, CI, the demo), and the production subset (deploy/).
LOCK := requirements.lock
DEPLOY_LOCK := deploy/requirements.lock
UV_VERSION := 0.13.9

.PHONY: run test lint test-sqlite test-postgres bench lock translations system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Everything comes from the lock; the project itself is installed without
# resolving anything again.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The demo is a pilot: only the demo's pilot group may join (intranet_plugin/demo.py).
# Its company writes in Dutch and English: both on everyone's share page.
run: export AMBASSADOR_LDAP_MEMBER_GROUP ?= cn=ambassador-pilot,ou=groups,dc=noordwind,dc=example
run: export AMBASSADOR_CONTENT_LANGUAGES ?= nl en
run: $(VENV)/.installed
	$(BIN)/ambassador db upgrade
	$(BIN)/ambassador demo
	-$(BIN)/ambassador digest send
	@echo "Ambassador demo on http://$(HOST):$(PORT)  (demo login: pick a person; sent mail: /admin/outbox)"
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# Regenerate both locks from pyproject.toml with the newest versions its
# ranges allow (the production lock as a subset of the full one, so the two
# never disagree). Run it after editing the dependencies, or to take upstream
# releases; then run `make test` and commit the locks.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
	  --generate-hashes --upgrade --quiet --output-file $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra postgres --extra server --universal --python-version 3.11 \
	  --generate-hashes --constraint $(LOCK) --quiet --output-file $(DEPLOY_LOCK)

# Debian packages the suite drives for real, installed with apt when missing:
# Chromium (Playwright), OpenLDAP's slapd with ldap-utils and openssl (the SSO
# tests start their own slapd on a loopback port, with a throw-away TLS
# certificate), nginx for the deployment test (deploy/nginx), and wrk for
# the benchmarks. The one place that calls apt.
need = command -v $(1) >/dev/null 2>&1 || test -x /usr/sbin/$(1) || { \
	echo "Installing Debian's $(2)"; apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; }

system-deps:
	@$(call need,chromium,chromium)
	@$(call need,slapd,slapd)
	@$(call need,ldapsearch,ldap-utils)
	@$(call need,openssl,openssl)
	@$(call need,nginx,nginx)

# ruff, then the layer contracts of pyproject.toml's [tool.importlinter].
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The two databases' runs go side by side (one core each; each run's output
# is printed whole when it ends), which halves the wall time of CI.
test: $(VENV)/.installed system-deps
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: $(VENV)/.installed
	AMBASSADOR_TEST_DATABASE=sqlite $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed
	AMBASSADOR_TEST_DATABASE=$(TEST_POSTGRES_URL) $(BIN)/pytest -q $(PYTEST_ARGS)

# Every benchmark runs; the target fails if any of them missed its bar.
BENCHES := bench/redirect.py bench/share_page_queries.py bench/dashboard.py bench/digest_bench.py
bench: $(VENV)/.installed
	@$(call need,wrk,wrk)
	@failed=0; for b in $(BENCHES); do $(BIN)/python $$b || failed=1; done; exit $$failed

translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _n:1,2 -o intranet_plugin/translations/messages.pot .
	$(BIN)/pybabel update -i intranet_plugin/translations/messages.pot -d intranet_plugin/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d intranet_plugin/translations

clean:
	rm -rf $(VENV) instance .pytest_cache .import_linter_cache

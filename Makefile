# The two commands a newcomer needs: `make demo` (the main job on the bundled demo shop) and
# `make test`. Both install what they need into .venv; `make test` installs Debian's chromium
# when no browser is found.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest browser test-services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# A browser for the scenario checks and browser tests: Playwright's own if installed, else a
# system Chromium/Chrome, else Debian's chromium package (needs root or sudo).
browser: $(STAMP)
	@$(BIN)/python -m auditor.browser.locate >/dev/null 2>&1 || { \
	  echo "No Chromium found: installing Debian's chromium package"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Servers the tests start on loopback: Debian's dovecot-imapd for the IMAP mailbox tests. Never
# fails the build: without apt, root or sudo those tests skip and say why. (Debian starts the
# system's dovecot service on install; `systemctl disable --now dovecot` if you do not want it.)
test-services:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
	  echo "No dovecot found: installing Debian's dovecot-imapd for the IMAP tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dovecot-imapd; } \
	  || echo "Could not install dovecot-imapd: the IMAP tests will be skipped"; }

demo: $(STAMP) browser
	$(BIN)/auditor demo

lint: $(STAMP)
	$(BIN)/ruff check auditor tests bench scenarios alembic
	$(BIN)/ruff format --check auditor tests bench scenarios alembic

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser test-services
	$(BIN)/pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

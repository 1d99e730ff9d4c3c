# The two commands a newcomer needs: `make demo` (the main job on the bundled demo shop) and
# `make test`. Both install what they need into .venv; `make test` installs Debian's chromium
# when no browser is found.

PYTHON ?= python3
# pytest-xdist workers: two per core by default (`make test PYTEST_WORKERS=0` runs in one process).
# Half the suite's time is waiting (for mail, a cron minute, a worker, a browser): with one worker
# per core both cores sat half idle (10.7 min on 2 cores, 49% busy); with two per core they are
# 96% busy and the suite took 8.8 min, 6.6 min since headless runs use Debian's headless shell
# (`make browser`), 5.4-6.2 min on 2026-12-07. Three per core was slower (7 min: more collection,
# more contention). The demo's email limits leave room for the load this makes.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(2 * len(os.sched_getaffinity(0)))" 2>/dev/null || echo auto)
# Write bytecode caches even where the environment says not to (some images set
# PYTHONDONTWRITEBYTECODE=1): without them each of the suite's ~150 auditor processes compiles
# every module it imports from source, and each pytest worker rewrites and compiles every test
# module, about 0.1 s of CPU per auditor process and 7 s per worker. __pycache__ is git-ignored.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs docs-serve lint typecheck pytest browser test-services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# A browser for the scenario checks and browser tests: Playwright's own if installed, else a
# system Chromium/Chrome, else Debian's chromium package (needs root or sudo), plus Debian's
# chromium-headless-shell beside a system one. Never fails: without
# a browser the browser tests skip and say why, and `auditor demo` says what to install.
browser: $(STAMP)
	@$(BIN)/python -m auditor.browser.locate >/dev/null 2>&1 || { \
	  echo "No Chromium found for the browser checks:"; \
	  $(BIN)/python -m auditor.browser.locate 2>&1 | sed 's/^/  /'; \
	  tools/install-system-package chromium "the browser for scenarios and browser tests" \
	  || echo "  Continuing without a browser: browser tests will be skipped."; }
	@# Headless runs prefer Debian's headless shell (about half the CPU of a full Chromium a launch):
	@# installed beside a system Chromium where apt has it and we may install (root or sudo -n),
	@# silently skipped otherwise (the full one is then used).
	@$(BIN)/python -m auditor.browser.locate 2>/dev/null | grep -q '(system)$$' \
	  && ! command -v chromium-headless-shell >/dev/null 2>&1 \
	  && apt-cache show chromium-headless-shell >/dev/null 2>&1 \
	  && { [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; } \
	  && tools/install-system-package chromium-headless-shell "a lighter Chromium for headless runs" \
	  || true

# Servers the tests start on loopback as their own processes: Debian's dovecot-imapd for the IMAP
# mailbox tests. Never fails the build: without apt, root or sudo those tests skip and say why.
# Debian starts the system's dovecot service on install; the script stops and disables it again.
test-services:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || \
	  tools/install-system-package dovecot-imapd "a real IMAP server for the mailbox tests" dovecot \
	  || echo "  The IMAP tests will be skipped."

demo: $(STAMP) browser
	$(BIN)/auditor demo

# The manual (docs/, MkDocs Material) into site/; `make docs-serve` previews it on 127.0.0.1:8000.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

lint: $(STAMP)
	$(BIN)/ruff check auditor tests bench scenarios alembic tools
	$(BIN)/ruff format --check auditor tests bench scenarios alembic tools

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser test-services
	$(BIN)/pytest -q -rs -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# mypy (about 8 s on one core) runs beside pytest, its output shown after pytest's: the suite leaves
# a core idle now and then, and mypy fills it instead of holding up the start.
test: lint browser test-services
	@$(BIN)/mypy > $(VENV)/typecheck.log 2>&1 & types=$$!; \
	$(BIN)/pytest -q -rs -n $(PYTEST_WORKERS) $(PYTEST_ARGS); tests=$$?; \
	wait $$types; typed=$$?; echo "$(BIN)/mypy"; cat $(VENV)/typecheck.log; \
	test $$tests -eq 0 && test $$typed -eq 0

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache site

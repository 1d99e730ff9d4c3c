"""`auditor crawl` starts fast because heavy libraries are imported only by what uses them.

Each check runs a fresh interpreter (a subprocess): this process has imported everything already.
The time budget itself is measured by bench/crawl/startup.py, never here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("playwright", "jinja2", "apprise", "alembic", "aiosmtpd")


def _imported_after(code: str, names: tuple[str, ...]) -> list[str]:
    report = f"print(json.dumps([n for n in {list(names)!r} if n in sys.modules]))"
    probe = f"import sys\n{code}\nimport json\n{report}"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    found: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_cli_and_building_its_parser_imports_no_heavy_library() -> None:
    assert _imported_after("import auditor.cli\nauditor.cli.build_parser()", HEAVY) == []


def test_import_auditor_loads_no_library_at_all() -> None:
    # The authoring API is loaded on first use (PEP 562): a plain `import auditor` is free.
    heavy = (*HEAVY, "sqlalchemy", "pydantic", "aiohttp", "httpx", "auditor.scenarios", "auditor.check")
    heavy = (*heavy, "importlib.metadata")  # the version is read on first use, without it
    assert _imported_after("import auditor", heavy) == []


def test_the_crawl_kind_loads_without_the_browser_mail_store_or_other_kinds() -> None:
    code = "from auditor import registry\nassert registry.get('crawl') is not None"
    others = ("auditor.checks.email", "auditor.checks.login", "auditor.checks.payment", "auditor.scenarios")
    # httpx too: the crawl's wire is aiohttp; httpx is for the checks that share a logged-in client.
    assert _imported_after(code, (*HEAVY, "sqlalchemy", "httpx", *others)) == []


@pytest.mark.parametrize("name", ["Check", "CheckContext", "CheckResult", "Finding", "Severity", "scenario"])
def test_a_public_name_is_loaded_on_first_use(name: str) -> None:
    code = f"import auditor\nobj = auditor.{name}\nassert obj.__name__ == {name!r}\n"
    code += f"from auditor import {name}"
    assert _imported_after(code, ()) == []


def test_progress_off_a_terminal_imports_no_rich() -> None:
    # rich draws the live table on a terminal only; CI, --quiet and pipes get plain lines.
    code = "import io\nfrom auditor import progress\n"
    code += "progress.for_stream(io.StringIO()).check_started('links', 'crawl')"
    assert _imported_after(code, ("rich",)) == []


def test_reading_a_config_with_every_kind_imports_no_checks_machinery(tmp_path: Path) -> None:
    """`auditor runs`, `show`, `validate` and `db` read the config (for its database) and so validate
    every check's options: that must not import what the checks run with (the crawler's aiohttp and
    parsers, httpx, the store). Only the scenario files themselves load, as they import Playwright."""
    from auditor.cli import demo_config_toml

    config = tmp_path / "auditor.toml"
    config.write_text(demo_config_toml())
    code = f"from auditor import config\nconfig.load({str(config)!r})"
    machinery = ("aiohttp", "httpx", "tinycss2", "protego", "sqlalchemy", "jinja2", "apprise", "alembic")
    assert _imported_after(code, (*machinery, "aiosmtpd", "imap_tools")) == []


def test_a_sqlite_database_never_loads_the_postgresql_dialect(tmp_path: Path) -> None:
    # About 30 ms of every `auditor runs`: the queue's slots and heartbeats upsert in SQLite's dialect.
    code = "from datetime import UTC, datetime\nfrom auditor.store import Store\n"
    code += "from auditor.queue.state import QueueState\n"
    code += f"q = QueueState(Store.open('sqlite:///{tmp_path}/a.db'))\nnow = datetime.now(UTC)\n"
    code += "assert q.claim_slot('nightly', 'shop', now, scheduler='s1')\n"
    code += "assert not q.claim_slot('nightly', 'shop', now, scheduler='s2')\n"
    code += "q.worker_beat('w1', state='idle')\nq.worker_beat('w1', state='idle')\n"
    code += "assert [w.name for w in q.workers()] == ['w1']\n"
    code += "q.missed_slots(since=now)"
    assert _imported_after(code, ("sqlalchemy.dialects.postgresql", "psycopg")) == []

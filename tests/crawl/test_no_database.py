"""`auditor crawl --no-database`: a one-off crawl that records nothing and never loads SQLAlchemy.

Each crawl runs in a fresh interpreter (this test process has imported everything already), with a
working folder of its own, so "no database file was created" is checked where the default
(`sqlite:///auditor.db`, relative to the working folder) would have put one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import config as config_mod
from auditor.app import Overrides, run_audit_now
from auditor.errors import UsageError
from tests.crawl.site import Site, page, serve

SHOP = {"/": page("/about", "/status/404?from=home"), "/about": page("/status/410?from=about")}

# Runs the CLI in-process in the child and then says which libraries it loaded.
_PROBE = """
import json, sys
from auditor.cli import main
code = main(sys.argv[1:])
loaded = [m for m in ("sqlalchemy", "alembic", "auditor.store.store") if m in sys.modules]
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _python(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`python ARGV` in `cwd`, as a fresh interpreter with a plain environment."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CI": "true"},
    )


def _crawl(cwd: Path, *args: str) -> tuple[int, list[str], str]:
    done = _python(cwd, "-c", _PROBE, "crawl", *args, "--quiet", "--no-sitemap")
    assert done.returncode == 0, done.stdout + done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    return probe["code"], probe["loaded"], done.stdout + done.stderr


def _found(report_dir: Path) -> set[tuple[str, str]]:
    report = json.loads((report_dir / "report.json").read_text())
    return {(f["kind"], f["url"]) for f in report["findings"]}


def test_a_crawl_without_a_database_reports_everything_records_nothing_and_loads_no_sqlalchemy(
    tmp_path: Path,
) -> None:
    site = Site(pages=dict(SHOP))
    with serve(site.app) as base:
        code, loaded, output = _crawl(tmp_path, base, "--no-database", "--report-dir", "out")
    assert code == 1, output  # the dead links fail the crawl as always
    assert _found(tmp_path / "out") == {
        ("broken_link", f"{base}/status/404?from=home"),
        ("broken_link", f"{base}/status/410?from=about"),
    }
    assert loaded == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no auditor.db beside the reports
    html = (tmp_path / "out" / "report.html").read_text()
    assert "not recorded in a database, so there is no history to show" in html
    # Every report is written as usual.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "junit.xml",
        "report.html",
        "report.json",
        "summary.md",
    ]


def test_the_same_crawl_with_the_default_database_records_the_run(tmp_path: Path) -> None:
    # The control: without the flag the run is recorded (so the test above can fail).
    site = Site(pages=dict(SHOP))
    with serve(site.app) as base:
        code, loaded, output = _crawl(tmp_path, base, "--report-dir", "out")
    assert code == 1, output
    assert "sqlalchemy" in loaded
    assert (tmp_path / "auditor.db").is_file()
    shown = _python(tmp_path, "-m", "auditor", "show", "latest", "--database-url", "sqlite:///auditor.db")
    assert f"{base}/status/410?from=about" in shown.stdout, shown.stdout + shown.stderr


def test_no_database_with_a_database_url_is_a_usage_error(tmp_path: Path) -> None:
    done = _python(
        tmp_path,
        "-m",
        "auditor",
        "crawl",
        "http://127.0.0.1:9/",
        "--no-database",
        "--database-url",
        "sqlite:///x.db",
    )
    assert done.returncode == 2
    assert "--no-database records nothing" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_alerts_must_be_recorded(tmp_path: Path) -> None:
    settings = config_mod.single_check("http://127.0.0.1:9/", "crawl", {}, check_name="links")
    with pytest.raises(UsageError, match="alerts need a recorded run"):
        run_audit_now(settings, "links", overrides=Overrides(alerts=True, record=False, report_dir=tmp_path))
    assert list(tmp_path.iterdir()) == []  # refused before anything ran

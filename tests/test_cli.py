"""The `auditor` command as a user runs it: a real process, real loopback sites, real exit codes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


def auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CI": "true"},
    )


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real static site on loopback, served from a folder the test fills."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(
        '<html><body><a href="/about.html">About</a><img src="/logo.png" alt=""></body></html>'
    )
    (root / "about.html").write_text('<html><body><a href="/">Home</a></body></html>')
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_init_writes_a_starter_config_and_will_not_overwrite_it(tmp_path: Path) -> None:
    first = auditor("init", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "auditor.toml").read_text().startswith("# auditor.toml")
    again = auditor("init", cwd=tmp_path)
    assert again.returncode == 2
    assert "exists; pass --force" in again.stderr
    assert auditor("validate", cwd=tmp_path).returncode == 0


def test_validate_lists_every_problem_and_exits_2_changing_nothing(tmp_path: Path) -> None:
    (tmp_path / "auditor.toml").write_text(
        '[sites.shop]\nbase_url = "nope"\n[checks.links]\nkind = "crawl"\nmax_pages = -1\n'
        '[audits.nightly]\nchecks = ["links", "ghost"]\n'
    )
    result = auditor("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "sites.shop.base_url: must be an http(s) URL" in result.stderr
    assert "checks.links.max_pages" in result.stderr
    assert "audits.nightly.checks.1: no check named 'ghost'" in result.stderr
    run = auditor("run", "nightly", cwd=tmp_path)
    assert run.returncode == 2
    assert not (tmp_path / "auditor.db").exists()


def test_run_of_an_unknown_audit_exits_4(tmp_path: Path) -> None:
    auditor("init", cwd=tmp_path)
    result = auditor("run", "weekly", cwd=tmp_path)
    assert result.returncode == 4
    assert "no audit named 'weekly' (known: nightly)" in result.stderr


def test_crawl_of_a_healthy_site_exits_0_and_records_the_run(
    static_site: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = static_site
    result = auditor("crawl", url, "--report-dir", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["run"]["status"] == "pass"
    assert report["findings"] == []
    assert report["stats"]["pages"] == 2
    assert (tmp_path / "auditor.db").exists()


def test_crawl_of_a_site_with_a_dead_image_exits_1_and_says_where(
    static_site: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = static_site
    (root / "logo.png").unlink()
    result = auditor("crawl", url, "--report-dir", "out", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"error: broken_image: {url}logo.png  (on {url})" in result.stdout
    assert "Report: out/report.html" in result.stdout
    assert (tmp_path / "out" / "junit.xml").exists()


def test_crawl_of_an_unreachable_site_exits_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    result = auditor("crawl", url, "--report-dir", "out", cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"could not reach {url}" in result.stdout


def test_a_header_given_on_the_command_line_never_reaches_the_report(
    static_site: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = static_site
    (root / "index.html").write_text('<a href="/missing?k=s3cr3t-value">x</a>')
    result = auditor("crawl", url, "--report-dir", "out", "--header", "X-Token: s3cr3t-value", cwd=tmp_path)
    assert result.returncode == 1
    assert "s3cr3t-value" not in result.stdout
    for name in ("report.json", "report.html", "junit.xml", "summary.md"):
        assert "s3cr3t-value" not in (tmp_path / "out" / name).read_text()


def test_db_commands_upgrade_show_and_downgrade_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    up = auditor("db", "upgrade", "--database-url", url, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert "database at revision" in up.stdout and "base (empty)" not in up.stdout
    down = auditor("db", "downgrade", "base", "--database-url", url, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert "base (empty)" in down.stdout


def test_db_prune_deletes_old_runs_with_the_report_folders_auditor_made_for_them(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from auditor.results import RunResult, RunStatus
    from auditor.store import Store

    url = f"sqlite:///{tmp_path / 'x.db'}"
    reports = tmp_path / "reports"
    now = datetime.now(UTC)
    folders = {
        "old": reports / "old",  # auditor's own <report_dir>/<run-id>/: goes with its run
        "old-gate": tmp_path / "gate-artifacts",  # a folder chosen with --report-dir: stays
        "new": reports / "new",  # a recent run: stays
    }

    def record(*run_ids: str) -> None:
        store = Store.open(url)
        for run_id in run_ids:
            started = now - timedelta(days=1 if run_id == "new" else 100)
            run = RunResult(
                id=run_id,
                audit="nightly",
                site="shop",
                base_url="http://127.0.0.1:9",
                trigger="manual",
                started_at=started,
            )
            store.start_run(run)
            run.status, run.finished_at, run.report_dir = RunStatus.PASS, started, folders[run_id]
            store.finish_run(run)
        store.close()

    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "report.html").write_text("<html></html>")
    record(*folders)

    kept = auditor("db", "prune", "--older-than", "30", "--keep-reports", "--database-url", url, cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "2 runs" in kept.stdout and "kept the report folders of the 2 deleted run(s)" in kept.stdout
    assert all(folder.is_dir() for folder in folders.values())

    record("old", "old-gate")  # --keep-reports deleted them from the database: put them back

    pruned = auditor("db", "prune", "--older-than", "30", "--database-url", url, cwd=tmp_path)
    assert pruned.returncode == 0, pruned.stderr
    assert "removed 1 report folder(s)" in pruned.stdout
    assert f"kept {folders['old-gate']}: not named after run old-gate" in pruned.stdout
    assert not folders["old"].exists()
    assert folders["old-gate"].is_dir() and folders["new"].is_dir()


def test_a_bad_flag_value_is_a_usage_error(tmp_path: Path) -> None:
    result = auditor("crawl", "http://127.0.0.1:9/", "--cookie", "novalue", cwd=tmp_path)
    assert result.returncode == 2
    assert "--cookie must look like NAME=VALUE" in result.stderr


def test_secrets_are_redacted_from_log_lines() -> None:
    import logging

    from auditor import config
    from auditor.cli import RedactingFilter

    settings = config.single_check(
        "http://127.0.0.1:9/", "crawl", {}, check_name="links", site={"headers": {"X-Key": "hunter2-key"}}
    )
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "sent %s", ("hunter2-key",), None)
    assert RedactingFilter(settings).filter(record)
    assert record.getMessage() == "sent **********"

"""The run display: a live table on a terminal (rich, imported only then), plain lines elsewhere."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from auditor.progress import LiveProgress, PlainProgress, for_stream
from auditor.results import CheckResult, RunResult, Status


def _run() -> RunResult:
    return RunResult(
        id="run-1",
        audit="links",
        site="shop",
        base_url="http://127.0.0.1:8000/",
        trigger="manual",
        started_at=datetime(2026, 12, 3, tzinfo=UTC),
    )


def test_a_live_table_on_a_terminal_shows_each_check() -> None:
    out = io.StringIO()
    live = LiveProgress(Console(file=out, force_terminal=True, width=100))
    run = _run()
    live.run_started(run, ["links"])
    live.check_started("links", "crawl")
    live.check_progress("links", {"pages": 3})
    live.check_finished(CheckResult(name="links", kind="crawl", status=Status.PASS))
    live.run_finished(run)
    assert "links" in out.getvalue() and "pass" in out.getvalue()


def test_off_a_terminal_it_prints_plain_lines() -> None:
    out = io.StringIO()
    shown = for_stream(out)
    assert isinstance(shown, PlainProgress)
    shown.check_started("links", "crawl")
    assert out.getvalue() == "[links] started (crawl)\n"

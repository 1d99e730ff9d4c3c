"""Reports with history: runs recorded in a real store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from auditor.report import write_reports
from auditor.results import CheckResult, RunResult, RunStatus, Status, worst
from auditor.store import Store
from tests.alerts.runs import BASE, broken_link, check

DAY0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'history.db'}")
        yield s
        s.close()
        return
    pg_url = os.environ.get("AUDITOR_TEST_POSTGRES_URL")
    if not pg_url:
        pytest.skip("AUDITOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    name = f"auditor_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        s = Store.open(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
        yield s
        s.close()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def day(n: int, *checks: CheckResult, root: Path, minutes: int = 5) -> RunResult:
    """The nightly run of day `n`, its report folder under `root`."""
    started = DAY0 + timedelta(days=n)
    overall = worst([c.derived_status() for c in checks])
    return RunResult(
        id=f"run-day-{n:02d}",
        audit="nightly",
        site="demo",
        base_url=BASE,
        trigger="schedule",
        started_at=started,
        status=RunStatus.PASS if overall == Status.SKIP else RunStatus(overall.value),
        finished_at=started + timedelta(minutes=minutes),
        checks=list(checks),
        report_dir=root / f"run-day-{n:02d}",
    )


def finish(store: Store, run: RunResult, reports: bool = True) -> dict[str, Path]:
    """Record `run` and write its reports as the runner does (reports before the run is finished);
    without `reports`, only record it (writing reports reads the store, never writes it)."""
    store.start_run(run)
    for c in run.checks:
        store.record_findings(run.id, c.findings)
        store.finish_check(run.id, c)
    assert run.report_dir is not None
    paths = write_reports(run, run.report_dir, store=store) if reports else {}
    store.finish_run(run)
    return paths


@pytest.fixture
def four_nights(store: Store, tmp_path: Path) -> tuple[RunResult, dict[str, Path]]:
    """Day 0: /gone, /old and /flaky dead. Day 1: /gone and /old (the crawl no longer finds /flaky).
    Day 2: the crawl errored (it says nothing). Day 3: /gone, /flaky again, and /new; /old fixed."""
    root = tmp_path / "reports"
    for run in [
        day(0, check("crawl", broken_link("/gone"), broken_link("/old"), broken_link("/flaky")), root=root),
        day(1, check("crawl", broken_link("/gone"), broken_link("/old")), root=root),
        day(2, check("crawl", status=Status.ERROR), root=root, minutes=1),
    ]:
        finish(store, run)
    today = day(
        3,
        check("crawl", broken_link("/gone"), broken_link("/flaky"), broken_link("/new")),
        root=root,
        minutes=9,
    )
    return today, finish(store, today)


def picked(have: dict[str, object], want: dict[str, object]) -> bool:
    """Whether `have` holds every item of `want`."""
    return {k: have.get(k) for k in want} == want


def _by_url(data: dict[str, object]) -> dict[str, dict[str, object]]:
    findings = data["findings"]
    assert isinstance(findings, list)
    return {f["url"].removeprefix(BASE): f for f in findings}


def test_it_marks_each_finding_new_or_known_since_its_first_night(
    four_nights: tuple[RunResult, dict[str, Path]],
) -> None:
    _, paths = four_nights
    findings = _by_url(json.loads(paths["json"].read_text()))
    assert picked(findings["/gone"], {"new": False, "known_since": DAY0.isoformat(), "open_days": 3})
    # /flaky was fixed on day 1 (the crawl completed without it), so its return is a new problem.
    assert picked(findings["/flaky"], {"new": True, "known_since": None, "open_days": None})
    assert findings["/new"]["new"] is True
    html = paths["html"].read_text()
    assert "known since 2026-11-20 (open 3 days)" in html
    assert html.count('<span class="mark new">new</span>') == 2
    md = paths["markdown"].read_text()
    assert "_known since 2026-11-20 (open 3 days)_" in md
    assert md.count("_new_") == 2


def test_it_lists_what_resolved_since_the_check_last_completed(
    four_nights: tuple[RunResult, dict[str, Path]],
) -> None:
    _, paths = four_nights
    data = json.loads(paths["json"].read_text())
    resolved = data["history"]["resolved"]
    assert [(r["check"], r["kind"], r["url"].removeprefix(BASE)) for r in resolved] == [
        ("crawl", "broken_link", "/old")
    ]
    assert resolved[0]["known_since"] == DAY0.isoformat()
    html = paths["html"].read_text()
    assert "<h2>Resolved since the last run</h2>" in html
    assert re.search(r'<span class="mark resolved">resolved</span> <strong>crawl: broken link</strong>', html)
    assert "### Resolved since the last run" in paths["markdown"].read_text()


def test_it_links_the_previous_report_relative_to_this_one(
    four_nights: tuple[RunResult, dict[str, Path]],
) -> None:
    today, paths = four_nights
    data = json.loads(paths["json"].read_text())
    assert data["history"]["previous_run"] == "run-day-02"
    assert data["history"]["previous_report"] == "../run-day-02/report.html"
    html = paths["html"].read_text()
    assert '<a class="previous" href="../run-day-02/report.html">run-day-02</a>' in html
    assert today.report_dir is not None
    assert (today.report_dir / "../run-day-02/report.html").resolve().is_file()


def test_it_names_a_previous_run_whose_report_is_gone(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    first = day(0, check("crawl"), root=root)
    finish(store, first)
    assert first.report_dir is not None
    (first.report_dir / "report.html").unlink()
    html = finish(store, day(1, check("crawl"), root=root))["html"].read_text()
    assert 'run-day-00 <span class="muted">(its report is no longer on disk)</span>' in html


def test_it_charts_the_last_thirty_runs_with_their_status_and_duration(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    for n in range(34):
        broken = (broken_link("/gone"),) if n % 3 == 0 else ()
        finish(store, day(n, check("crawl", *broken), root=root, minutes=1 + n % 4))
    html = (root / "run-day-33" / "report.html").read_text()
    [svg] = re.findall(r"<svg class=\"runs-chart\".*?</svg>", html, re.S)
    bars = re.findall(
        r'<rect class="bar (\w+)"[^>]* height="(\d+)" fill="(#\w+)"[^>]*><title>([^<]*)</title>', svg
    )
    assert len(bars) == 30
    assert [b[0] for b in bars] == ["fail" if n % 3 == 0 else "pass" for n in range(4, 34)]
    assert {b[2] for b in bars if b[0] == "fail"} == {"#c0392b"}
    assert {b[2] for b in bars if b[0] == "pass"} == {"#1f8a4c"}
    assert bars[0][3] == "2026-11-24 03:00 UTC · PASS · 60.0 s · run run-day-04"
    heights = [int(b[1]) for b in bars]
    assert heights[3] > heights[2] > heights[1] > heights[0]  # days 7, 6, 5, 4 took 4, 3, 2, 1 minutes
    assert 'role="img" aria-labelledby="runs-chart-title"' in svg
    assert '<title id="runs-chart-title">The last 30 run(s) of nightly: 10 failed;' in svg
    data = json.loads((root / "run-day-33" / "report.json").read_text())
    assert len(data["history"]["runs"]) == 30
    assert data["history"]["runs"][-1] == {
        "id": "run-day-33",
        "status": "fail",
        "started_at": (DAY0 + timedelta(days=33)).isoformat(),
        "duration_s": 120.0,
    }
    # Known since the first night of its streak, however long ago: /gone is in every third run
    # and every run between passed, so its streak starts on day 33.
    assert _by_url(data)["/gone"]["new"] is True


def test_a_problem_older_than_the_window_is_known_since_its_first_night(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    for n in range(40):
        # Only the last night's report is read: the 39 before it are recorded, not reported.
        finish(store, day(n, check("crawl", broken_link("/gone")), root=root), reports=n == 39)
    data = json.loads((root / "run-day-39" / "report.json").read_text())
    assert picked(_by_url(data)["/gone"], {"known_since": DAY0.isoformat(), "open_days": 39})


def test_a_first_run_says_it_is_the_first_and_marks_everything_new(store: Store, tmp_path: Path) -> None:
    paths = finish(store, day(0, check("crawl", broken_link("/gone")), root=tmp_path / "reports"))
    data = json.loads(paths["json"].read_text())
    assert picked(data["history"], {"available": True, "previous_run": None, "resolved": []})
    assert data["history"]["note"] == "This is the first recorded run of nightly."
    assert _by_url(data)["/gone"]["new"] is True
    html = paths["html"].read_text()
    assert "This is the first recorded run of nightly." in html
    assert html.count('<rect class="bar') == 1


def test_a_run_without_a_database_has_no_history_and_says_so(tmp_path: Path) -> None:
    run = day(0, check("crawl", broken_link("/gone")), root=tmp_path)
    assert run.report_dir is not None
    paths = write_reports(run, run.report_dir)
    data = json.loads(paths["json"].read_text())
    assert data["history"]["available"] is False
    assert picked(_by_url(data)["/gone"], {"new": None, "known_since": None})
    html = paths["html"].read_text()
    assert "This run was not recorded in a database, so there is no history to show." in html
    assert "<svg" not in html


def test_a_database_that_fails_leaves_the_reports_whole_without_history(tmp_path: Path) -> None:
    run = day(0, check("crawl", broken_link("/gone")), root=tmp_path)
    url = "sqlite:////nonexistent/folder/history.db"
    store = Store(url, create_engine(url))
    assert run.report_dir is not None
    paths = write_reports(run, run.report_dir, store=store)
    html = paths["html"].read_text()
    assert "The history of nightly could not be read from the database (OperationalError" in html
    assert "this run&#39;s findings are complete" in html
    assert len(json.loads(paths["json"].read_text())["findings"]) == 1
    assert run.internal_errors == []

"""The dashboard's read layer on a real store (SQLite, and PostgreSQL when configured): what the
overview and a site page say, the reader's scope, pagination, and a fixed number of queries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from auditor.config import Settings, from_dict
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity, Status
from auditor.store import Store
from auditor.web import queries
from auditor.web.queries import EVERYONE, BadCursor, Scope
from tests.web.test_api_support import database, generator

DAY0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
KINDS = ["sqlite", "postgresql"]


def record(store: Store, site: str, n: int, status: str, *, audit: str = "nightly", findings: int = 0) -> str:
    """Record the run of day `n` of `audit` on `site` through the store, as the runner does."""
    started = DAY0 + timedelta(days=n)
    run = RunResult(
        id=f"{site}-{audit}-{n:02d}",
        audit=audit,
        site=site,
        base_url="https://shop.example",
        trigger="schedule",
        started_at=started,
    )
    store.start_run(run)
    if status == "running":
        return run.id
    check = CheckResult(name="links", kind="crawl", status=Status.PASS)
    check.findings = [
        Finding(kind="broken_link", severity=Severity.ERROR, url=f"/p/{k}", message="404").finalize(
            "links", "https://shop.example"
        )
        for k in range(findings)
    ]
    store.record_findings(run.id, check.findings)
    store.finish_check(run.id, check)
    run.status = RunStatus(status)
    run.finished_at = started + timedelta(minutes=3)
    store.finish_run(run)
    return run.id


def config(*names: str) -> Settings:
    return from_dict({"sites": {n: {"base_url": f"https://{n}.example"} for n in names}})


@pytest.fixture(params=KINDS, scope="module")
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store with a few sites' hand-made histories (each test reads it, none writes)."""
    with database(request.param, tmp_path_factory.mktemp("q")) as url:
        s = Store.open(url)
        # fixed: failed, recovered. broken: passed, then failed twice around an error (which says
        # nothing of the site), a run going on now. degraded: warns. quiet: no run at all.
        for n, status in enumerate(["pass", "fail", "fail", "pass"]):
            record(s, "fixed", n, status)
        for n, status in enumerate(["pass", "pass", "fail", "error", "fail"]):
            record(s, "broken", n, status, findings=2 if status == "fail" else 0)
        record(s, "broken", 5, "running")
        record(s, "broken", 1, "pass", audit="checkout")
        record(s, "older", 0, "fail")
        for n in range(40):
            record(s, "degraded", n, "warn" if n == 39 else "pass")
        yield s
        s.close()


SETTINGS = config("fixed", "broken", "degraded", "quiet", "older")


def rows_by_name(store: Store, scope: Scope = EVERYONE, **kw: Any) -> dict[str, queries.SiteRow]:
    with Session(store.engine) as s:
        return {r.name: r for r in queries.overview(s, SETTINGS, scope, **kw)}


def test_the_overview_tells_each_sites_status_now(store: Store) -> None:
    rows = rows_by_name(store)
    assert {n: r.status for n, r in rows.items()} == {
        "fixed": "pass",
        "broken": "fail",
        "degraded": "warn",
        "quiet": "unknown",
        "older": "fail",
    }
    assert rows["broken"].audits == {"checkout": "pass", "nightly": "fail"}


def test_a_site_is_broken_since_its_first_failure_after_the_last_healthy_run(store: Store) -> None:
    rows = rows_by_name(store)
    # The error on day 3 neither ends nor starts the streak that began on day 2.
    assert rows["broken"].broken_since == DAY0 + timedelta(days=2)
    assert rows["older"].broken_since == DAY0
    assert rows["fixed"].broken_since is None and rows["quiet"].broken_since is None


def test_the_strip_holds_the_last_30_runs_oldest_first_and_shows_one_running(store: Store) -> None:
    rows = rows_by_name(store)
    strip = rows["degraded"].strip
    assert len(strip) == queries.STRIP
    assert [r.started_at for r in strip] == [DAY0 + timedelta(days=n) for n in range(10, 40)]
    assert strip[-1].status == "warn"
    broken = rows["broken"]
    assert [r.status for r in broken.strip] == ["pass", "pass", "pass", "fail", "error", "fail", "running"]
    assert broken.running and not rows["fixed"].running
    assert broken.last_run is not None and broken.last_run.id == "broken-nightly-04"
    assert rows["quiet"].strip == [] and rows["quiet"].last_run is None


def test_broken_longest_sorts_first(store: Store) -> None:
    with Session(store.engine) as s:
        names = [r.name for r in queries.overview(s, SETTINGS, sort="broken")]
    assert names == ["older", "broken", "degraded", "fixed", "quiet"]


def test_a_reader_sees_only_the_sites_of_its_scope(store: Store) -> None:
    mine = Scope(frozenset({"fixed"}))
    assert list(rows_by_name(store, mine)) == ["fixed"]
    with Session(store.engine) as s:
        assert queries.run_detail(s, mine, "broken-nightly-02") is None
        assert queries.run_findings(s, mine, "broken-nightly-02") is None
        assert queries.site_detail(s, SETTINGS, mine, "broken") is None
        assert {r.site for r in queries.list_runs(s, mine, limit=500).items} == {"fixed"}
        assert queries.run_detail(s, mine, "fixed-nightly-01") is not None


def test_a_site_page_has_its_runs_newest_first_with_findings_by_kind(store: Store) -> None:
    with Session(store.engine) as s:
        detail = queries.site_detail(s, SETTINGS, EVERYONE, "broken")
        assert detail is not None
        newest = [p.run.id for p in detail.history][:3]
        assert newest == ["broken-nightly-05", "broken-nightly-04", "broken-nightly-03"]
        by_id = {p.run.id: p for p in detail.history}
        assert by_id["broken-nightly-04"].findings == {"broken_link": 2}
        assert by_id["broken-nightly-03"].findings == {}
        assert by_id["broken-nightly-04"].run.duration_s == 180.0
        assert queries.site_detail(s, SETTINGS, EVERYONE, "nowhere") is None


def test_a_run_has_its_checks_and_a_count_of_its_findings(store: Store) -> None:
    with Session(store.engine) as s:
        run = queries.run_detail(s, EVERYONE, "broken-nightly-02")
        assert run is not None
        assert [(c.name, c.kind) for c in run.checks] == [("links", "crawl")]
        assert run.findings_by_kind == {"broken_link": 2} and run.findings_by_severity == {"error": 2}
        page = queries.run_findings(s, EVERYONE, "broken-nightly-02", limit=1)
        assert page is not None and len(page.items) == 1 and page.next_cursor
        rest = queries.run_findings(s, EVERYONE, "broken-nightly-02", limit=1, cursor=page.next_cursor)
        assert rest is not None and rest.next_cursor is None
        assert {f.url for f in page.items + rest.items} == {"/p/0", "/p/1"}


def test_runs_page_through_every_run_once_newest_first(store: Store) -> None:
    seen: list[queries.RunBrief] = []
    cursor = None
    with Session(store.engine) as s:
        while True:
            page = queries.list_runs(s, EVERYONE, limit=7, cursor=cursor)
            seen.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        everything = queries.list_runs(s, EVERYONE, limit=500).items
        assert queries.list_runs(s, EVERYONE, site="fixed", status="fail").items[0].id == "fixed-nightly-02"
    assert [r.id for r in seen] == [r.id for r in everything]
    assert len(seen) == 4 + 6 + 1 + 1 + 40
    assert seen == sorted(seen, key=lambda r: (r.started_at, r.id), reverse=True)


@settings(max_examples=40)
@given(st.text(max_size=80))
def test_a_cursor_from_anywhere_is_refused_or_read_never_a_crash(store: Store, cursor: str) -> None:
    with Session(store.engine) as s:
        for call in (
            lambda: queries.list_runs(s, EVERYONE, cursor=cursor),
            lambda: queries.list_incidents(s, EVERYONE, cursor=cursor),
            lambda: queries.run_findings(s, EVERYONE, "broken-nightly-02", cursor=cursor),
        ):
            with contextlib.suppress(BadCursor):
                call()


# ------------------------------------------------------------------------------- a fixed number of queries


class Counter:
    def __init__(self, store: Store) -> None:
        self.statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


@pytest.mark.parametrize("kind", KINDS)
def test_the_overview_and_a_site_page_take_as_many_queries_for_50_sites_as_for_5(
    kind: str, tmp_path: Path
) -> None:
    gen = generator()
    counts: dict[int, tuple[int, int]] = {}
    for sites, runs in ((5, 10), (50, 40)):
        with database(kind, tmp_path) as url:
            gen.generate(url, sites=sites, runs=runs)
            store = Store.open(url)
            try:
                queries.ensure_indexes(store.engine)  # once per process: not part of a page
                counter = Counter(store)
                config = gen.settings_for(sites)
                with Session(store.engine) as s:
                    rows = queries.overview(s, config, sort="broken")
                    overview = len(counter.statements)
                    detail = queries.site_detail(s, config, EVERYONE, gen.site_name(1))
                    site_page = len(counter.statements) - overview
                assert len(rows) == sites and detail is not None and len(detail.history) == runs
                assert sum(len(r.strip) for r in rows) == sites * min(runs, queries.STRIP)
                counts[sites] = (overview, site_page)
            finally:
                store.close()
    assert counts[5] == counts[50]
    assert counts[50][0] <= 4 and counts[50][1] <= 8


@pytest.mark.parametrize("kind", KINDS)
def test_an_incident_acknowledged_or_muted_until_later_is_told_apart(kind: str, tmp_path: Path) -> None:
    from auditor.store.models import IncidentRow
    from auditor.store.web_models import IncidentNoteRow, ensure_tables
    from tests.web.test_api_support import open_incident

    now = DAY0 + timedelta(days=10)
    notes = {
        "acked": [("ack", None)],
        "muted-later": [("mute", now + timedelta(days=1))],
        "muted-before": [("mute", now - timedelta(days=1))],
        "unmuted": [("ack", None), ("unmute", None)],
        "quiet": [],
    }
    with database(kind, tmp_path) as url:
        store = Store.open(url)
        try:
            ensure_tables(store.engine)  # the dashboard's tables, as `auditor serve` makes them
            run_id = record(store, "broken", 0, "fail")
            for site in notes:
                open_incident(store, site, "nightly", run_id, DAY0)
            with Session(store.engine) as s, s.begin():
                ids = {r.fingerprint.removesuffix("-fp"): r.id for r in s.scalars(select(IncidentRow))}
                for site, said in notes.items():
                    for k, (action, until) in enumerate(said):
                        s.add(
                            IncidentNoteRow(
                                incident_id=ids[site],
                                action=action,
                                by_user="ada",
                                at=DAY0 + timedelta(hours=k + 1),
                                note=f"{action} by ada",
                                until=until,
                            )
                        )
            with Session(store.engine) as s:
                yes = queries.list_incidents(s, EVERYONE, acknowledged=True, now=now).items
                no = queries.list_incidents(s, EVERYONE, acknowledged=False, now=now).items
                one = queries.incident(s, EVERYONE, ids["acked"])
        finally:
            store.close()
    assert sorted(i.fingerprint.removesuffix("-fp") for i in yes) == ["acked", "muted-later"]
    assert sorted(i.fingerprint.removesuffix("-fp") for i in no) == ["muted-before", "quiet", "unmuted"]
    assert one is not None and one.note is not None and one.note.action == "ack" and one.note.by == "ada"


@pytest.mark.parametrize("kind", KINDS)
def test_the_dashboard_queries_read_through_the_indexes_of_migration_0011(kind: str, tmp_path: Path) -> None:
    from sqlalchemy import true

    gen = generator()
    with database(kind, tmp_path) as url:
        gen.generate(url, sites=20, runs=30)
        store = Store.open(url)
        try:
            with Session(store.engine) as s:  # the first overview makes the indexes 0010 has not yet
                queries.overview(s, gen.settings_for(20))
            names = {i["name"] for t in ("runs", "findings") for i in inspect(store.engine).get_indexes(t)}
            assert {name for name, table, _ in queries.DASHBOARD_INDEXES if table != "incidents"} <= names
            with store.engine.connect() as conn:
                dialect = conn.dialect.name
                if dialect == "postgresql":
                    # A table this small is read whole anyway; ask whether the index *can* serve.
                    conn.exec_driver_sql("SET enable_seqscan = off")
                statements = {
                    # On PostgreSQL's tiny test table any index leading with the site may win.
                    "ix_runs_site_": [
                        queries._strip_runs(true(), dialect),
                        queries._run_columns()
                        .where(queries.RunRow.site == "shop-001")
                        .order_by(queries.RunRow.started_at.desc())
                        .limit(90),
                    ],
                    "ix_runs_site_audit_": [queries._last_finished(true(), dialect)],
                }
                for index, stmts in statements.items():
                    for stmt in stmts:
                        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
                        plan = " | ".join(str(row) for row in conn.exec_driver_sql(prefix + sql))
                        assert index in plan, plan
        finally:
            store.close()


def test_the_apis_hand_written_site_json_is_what_its_model_would_write(store: Store) -> None:
    from auditor.web.api import SiteOut, _site_fields, site_json

    rows = list(rows_by_name(store).values())
    assert rows and any(r.strip for r in rows) and any(r.broken_since for r in rows)
    for row in rows:
        assert site_json(row) == SiteOut(**_site_fields(row)).model_dump(mode="json")

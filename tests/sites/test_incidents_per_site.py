"""Incidents are kept per audit AND site: migration 0008 (backfill from the runs) and process_run with
one audit run for two sites (real databases, a real loopback webhook)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, inspect, text

from auditor.alerts import AlertsConfig, process_run
from auditor.store import Store, current, downgrade, upgrade
from auditor.store.migrate import HEAD
from tests.alerts.receivers import Webhook
from tests.alerts.runs import a_run, broken_link, check, recorded

T = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _incident_sql(id_: int, audit: str, first: str, last: str) -> str:
    return (
        'INSERT INTO incidents (id, audit, "check", fingerprint, kind, severity, url, message, status, '
        "first_seen_at, last_seen_at, first_seen_run, last_seen_run, consecutive_failures, "
        f"consecutive_passes) VALUES ({id_}, '{audit}', 'links', 'fp', 'broken_link', 'error', 'http://x/', "
        f"'dead', 'open', :t, :t, '{first}', '{last}', 1, 0)"
    )


def test_migration_0008_backfills_each_incident_and_cursor_with_its_runs_site(db_url: str) -> None:
    upgrade(db_url, "0007")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            for run_id, site in (("r-a", "shop-a"), ("r-b", "shop-b"), ("r-b2", "shop-b")):
                conn.execute(
                    text(
                        "INSERT INTO runs (id, audit, site, base_url, trigger, status, started_at, stats) "
                        f"VALUES ('{run_id}', 'nightly', '{site}', 'http://x', 'manual', 'fail', :t, '{{}}')"
                    ),
                    {"t": T},
                )
            conn.execute(text(_incident_sql(1, "nightly", "r-a", "r-a")), {"t": T})
            # Its first run was pruned: the last one tells the site.
            conn.execute(text(_incident_sql(2, "nightly", "pruned", "r-b2")), {"t": T})
            # Neither run is left: no site.
            conn.execute(text(_incident_sql(3, "nightly", "gone", "gone too")), {"t": T})
            conn.execute(
                text(
                    "INSERT INTO alert_cursors (audit, run_id, run_started_at) VALUES ('nightly', 'r-b2', :t)"
                ),
                {"t": T},
            )
        upgrade(db_url)
        assert current(db_url) == HEAD
        with engine.connect() as conn:
            sites = conn.execute(text("SELECT id, site FROM incidents ORDER BY id")).all()
            cursors = conn.execute(text("SELECT audit, site, run_id FROM alert_cursors")).all()
            indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("incidents")}
        assert [tuple(r) for r in sites] == [(1, "shop-a"), (2, "shop-b"), (3, "")]
        assert [tuple(r) for r in cursors] == [("nightly", "shop-b", "r-b2")]
        assert indexes["ix_incidents_audit_site_status"] == ["audit", "site", "status"]
        assert "ix_incidents_audit_status" not in indexes

        downgrade(db_url, "0007")
        with engine.connect() as conn:
            insp = inspect(conn)
            assert "site" not in {c["name"] for c in insp.get_columns("incidents")}
            assert [tuple(r) for r in conn.execute(text("SELECT audit FROM alert_cursors"))] == [("nightly",)]
        upgrade(db_url)
        assert current(db_url) == HEAD
    finally:
        engine.dispose()


def test_one_audit_on_two_sites_keeps_their_incidents_and_messages_apart(
    store: Store, webhook: Webhook
) -> None:
    cfg = AlertsConfig.model_validate({"channels": {"hook": {"url": webhook.url()}}})
    for n in range(3):
        # The same dead link (same fingerprint) on both sites, shop-b's run started first each hour.
        for site, offset in (("shop-b", 0), ("shop-a", 10)):
            run = replace(
                a_run(n, check("links", broken_link())),
                id=f"{site}-{n}",
                site=site,
            )
            run = replace(run, started_at=run.started_at + timedelta(minutes=offset))
            recorded(store, run)
            sent = process_run(store, run, cfg, now=run.started_at + timedelta(minutes=5))
            # Each site's first run opens its own incident; a later run of the other site does not
            # make this one "older than the last applied" (each (audit, site) has its own cursor).
            assert [s.event for s in sent] == (["new"] if n == 0 else [])
    a = store.list_incidents(site="shop-a")
    b = store.list_incidents(site="shop-b")
    assert [(i.site, i.consecutive_failures, i.first_seen_run) for i in a] == [("shop-a", 3, "shop-a-0")]
    assert [(i.site, i.consecutive_failures, i.first_seen_run) for i in b] == [("shop-b", 3, "shop-b-0")]
    assert len(webhook.titles()) == 2

    # shop-a is fixed: only its incident resolves.
    for n in (3, 4, 5):
        run = replace(a_run(n, check("links")), id=f"shop-a-{n}", site="shop-a")
        recorded(store, run)
        process_run(store, run, cfg, now=run.started_at + timedelta(minutes=5))
    assert store.list_incidents(site="shop-a") == []
    assert [i.site for i in store.list_incidents()] == ["shop-b"]
    assert store.incidents_to_process("nightly", "shop-b")[0].consecutive_failures == 3

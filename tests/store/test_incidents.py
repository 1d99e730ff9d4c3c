"""The store keeps incidents and notification attempts, and finds what the next run may change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from auditor.store import Incident, IncidentStatus, Notification, Store

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def an_incident(fingerprint: str = "f1", audit: str = "nightly", **changes: object) -> Incident:
    incident = Incident(
        audit=audit,
        check="links",
        fingerprint=fingerprint,
        kind="broken_link",
        severity="error",
        url="http://127.0.0.1:8000/gone",
        message="Link is dead: HTTP 404.",
        step=None,
        status=IncidentStatus.OPEN,
        first_seen_at=T0,
        last_seen_at=T0,
        first_seen_run="r1",
        last_seen_run="r1",
    )
    return replace(incident, **changes)


def test_an_incident_is_saved_with_an_id_and_loads_back_as_it_was(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        [saved] = store.save_incidents([an_incident(step="pay", notified_at=T0 + timedelta(minutes=5))])
        assert saved.id is not None
        [loaded] = store.incidents_to_process("nightly")
        assert loaded == saved
        assert loaded.notified_at is not None and loaded.notified_at.tzinfo is not None
        changed = replace(loaded, consecutive_failures=4, last_seen_run="r4", status=IncidentStatus.RESOLVED)
        assert store.save_incidents([changed]) == [changed]
        assert store.list_incidents(statuses=[IncidentStatus.RESOLVED]) == [changed]
    finally:
        store.close()


def test_the_next_run_sees_active_incidents_and_resolutions_still_owed_only(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        announced = T0 + timedelta(minutes=1)
        store.save_incidents(
            [
                an_incident("pending", status=IncidentStatus.PENDING),
                an_incident("open"),
                an_incident("owed", status=IncidentStatus.RESOLVED, notified_at=announced),
                an_incident(
                    "done", status=IncidentStatus.RESOLVED, notified_at=announced, resolved_notified_at=T0
                ),
                an_incident("quiet", status=IncidentStatus.RESOLVED),
                an_incident("other audit", audit="hourly"),
            ]
        )
        assert [i.fingerprint for i in store.incidents_to_process("nightly")] == ["pending", "open", "owed"]
        assert [i.fingerprint for i in store.list_incidents()] == ["open", "other audit"]
        assert [i.fingerprint for i in store.list_incidents(audit="hourly")] == ["other audit"]
    finally:
        store.close()


def test_open_incidents_are_listed_longest_standing_first(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        store.save_incidents(
            [an_incident("late", first_seen_at=T0 + timedelta(days=1)), an_incident("early")]
        )
        assert [i.fingerprint for i in store.list_incidents()] == ["early", "late"]
        assert [i.fingerprint for i in store.list_incidents(limit=1)] == ["early"]
    finally:
        store.close()


def test_every_notification_attempt_is_kept_with_its_outcome(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        attempts = [
            Notification("r1", "nightly", "ops", "new", (1, 2), "[auditor] nightly: 2 new", True, None, T0),
            Notification(
                "r1", "nightly", "slack", "new", (1, 2), "[auditor] nightly: 2 new", False, "refused", T0
            ),
            Notification(
                "r2", "nightly", "ops", "resolved", (1,), "[auditor] fixed", True, None, T0 + timedelta(1)
            ),
        ]
        saved = store.record_notifications(attempts)
        assert all(n.id is not None for n in saved)
        assert [replace(n, id=None) for n in store.notifications()] == attempts
        assert [(n.channel, n.ok, n.error) for n in store.notifications(run_id="r1")] == [
            ("ops", True, None),
            ("slack", False, "refused"),
        ]
        assert [n.event for n in store.notifications(limit=1)] == ["resolved"]
        assert store.notifications(audit="hourly") == []
    finally:
        store.close()


def test_prune_forgets_long_resolved_incidents_and_keeps_open_ones_however_old(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        long_ago = T0 - timedelta(days=200)
        store.save_incidents(
            [
                an_incident("gone", status=IncidentStatus.RESOLVED, resolved_at=long_ago),
                an_incident("recent", status=IncidentStatus.RESOLVED, resolved_at=T0),
                an_incident("still-broken", first_seen_at=long_ago),
            ]
        )
        assert store.prune(T0 - timedelta(days=90))["incidents"] == 1
        statuses = [IncidentStatus.OPEN, IncidentStatus.RESOLVED]
        assert sorted(i.fingerprint for i in store.list_incidents(statuses=statuses)) == [
            "recent",
            "still-broken",
        ]
    finally:
        store.close()

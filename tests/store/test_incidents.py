"""The store keeps incidents and notification attempts, and finds what the next run may change."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
        assert store.prune(T0 - timedelta(days=90)).counts["incidents"] == 1
        statuses = [IncidentStatus.OPEN, IncidentStatus.RESOLVED]
        assert sorted(i.fingerprint for i in store.list_incidents(statuses=statuses)) == [
            "recent",
            "still-broken",
        ]
    finally:
        store.close()


def test_apply_run_makes_a_second_process_wait_and_read_what_the_first_saved(db_url: str) -> None:
    """The scheduler and a manual `auditor run` finishing together: without the per-audit lock both
    would read "no incidents" and open the same one twice."""
    first, second = Store.open(db_url), Store.open(db_url)
    inside, seen_by_second = threading.Event(), []

    def slow_decide(incidents: list[Incident]) -> list[Incident]:
        inside.set()
        time.sleep(0.5)  # hold the lock while the second process tries to take it
        return [an_incident(first_seen_run="r1", last_seen_run="r1")]

    def second_decide(incidents: list[Incident]) -> list[Incident]:
        seen_by_second.append([i.last_seen_run for i in incidents])
        return [replace(i, last_seen_run="r2", consecutive_failures=2) for i in incidents]

    try:
        worker = threading.Thread(
            target=first.apply_run, args=("nightly", "r1", T0, slow_decide), kwargs={"now": T0}
        )
        worker.start()
        assert inside.wait(10)
        saved = second.apply_run("nightly", "r2", T0 + timedelta(hours=1), second_decide, now=T0)
        worker.join(10)
        assert seen_by_second == [["r1"]]
        assert saved is not None and [i.last_seen_run for i in saved] == ["r2"]
        [only] = first.list_incidents()
        assert (only.last_seen_run, only.consecutive_failures) == ("r2", 2)
    finally:
        first.close()
        second.close()


def test_apply_run_ignores_a_run_applied_already_and_one_older_than_the_last(db_url: str) -> None:
    store = Store.open(db_url)
    calls: list[str] = []

    def decide(run_id: str) -> Callable[[list[Incident]], list[Incident]]:
        def record(incidents: list[Incident]) -> list[Incident]:
            calls.append(run_id)
            return []

        return record

    try:
        assert store.apply_run("nightly", "r2", T0 + timedelta(hours=2), decide("r2"), now=T0) == []
        assert store.apply_run("nightly", "r2", T0 + timedelta(hours=2), decide("r2 again"), now=T0) is None
        assert store.apply_run("nightly", "r1", T0 + timedelta(hours=1), decide("r1"), now=T0) is None
        assert store.apply_run("weekly", "r1", T0 + timedelta(hours=1), decide("weekly r1"), now=T0) == []
        assert store.apply_run("nightly", "r3", T0 + timedelta(hours=3), decide("r3"), now=T0) == []
        assert calls == ["r2", "weekly r1", "r3"]
    finally:
        store.close()

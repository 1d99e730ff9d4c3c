"""The alert policy with an injected clock: thresholds, reminders, resolution, dedup, maintenance."""

from __future__ import annotations

from datetime import timedelta

from auditor.alerts.policy import Event, is_external_link
from auditor.results import Status
from auditor.store.incidents import IncidentStatus
from tests.alerts.runs import BASE, HOUR, T0, Replay, a_run, broken_link, check, scenario_failed, warning

NEW, REMINDER, RESOLVED = Event.NEW, Event.REMINDER, Event.RESOLVED


def test_a_failure_is_announced_once_however_many_runs_it_lasts() -> None:
    replay = Replay()
    for n in range(5):
        replay.feed(a_run(n, check("links", broken_link())))
    assert replay.events() == [("run-000", NEW)]
    incident = replay.only()
    assert (incident.status, incident.consecutive_failures) == (IncidentStatus.OPEN, 5)
    assert (incident.first_seen_run, incident.last_seen_run) == ("run-000", "run-004")
    assert (incident.first_seen_at, incident.last_seen_at) == (T0, T0 + 4 * HOUR)


def test_two_problems_of_one_run_are_two_incidents() -> None:
    replay = Replay()
    due = replay.feed(a_run(0, check("links", broken_link("/a"), broken_link("/b"))))
    assert sorted(i.url for i in due[NEW]) == [f"{BASE}/a", f"{BASE}/b"]


def test_after_failures_waits_for_that_many_failing_runs_in_a_row() -> None:
    replay = Replay({"after_failures": 3})
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links", broken_link())))
    assert replay.events() == []
    assert replay.only().status == IncidentStatus.PENDING
    replay.feed(a_run(2, check("links", broken_link())))
    assert replay.events() == [("run-002", NEW)]
    assert replay.only().opened_at is not None


def test_a_passing_run_between_failures_restarts_the_count() -> None:
    replay = Replay({"after_failures": 2})
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links")))
    replay.feed(a_run(2, check("links", broken_link())))
    assert replay.events() == []
    replay.feed(a_run(3, check("links", broken_link())))
    assert replay.events() == [("run-003", NEW)]


def test_reminders_come_every_remind_every_h_while_the_incident_is_open() -> None:
    replay = Replay({"remind_every_h": 6})
    for n in range(14):
        replay.feed(a_run(n, check("links", broken_link())))
    assert replay.events() == [("run-000", NEW), ("run-006", REMINDER), ("run-012", REMINDER)]


def test_a_daily_reminder_is_not_skipped_when_a_run_starts_a_little_early() -> None:
    replay = Replay({"remind_every_h": 24})
    replay.feed(a_run(0, check("links", broken_link())), now=T0 + timedelta(minutes=20))
    replay.feed(a_run(24, check("links", broken_link())), now=T0 + 24 * HOUR + timedelta(minutes=12))
    assert replay.events() == [("run-000", NEW), ("run-024", REMINDER)]


def test_remind_every_h_0_never_reminds() -> None:
    replay = Replay({"remind_every_h": 0})
    for n in range(0, 100, 10):
        replay.feed(a_run(n, check("links", broken_link())))
    assert replay.events() == [("run-000", NEW)]


def test_an_incident_resolves_after_resolve_after_passes_passing_runs_in_a_row() -> None:
    replay = Replay({"resolve_after_passes": 2})
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links")))
    replay.feed(a_run(2, check("links", broken_link())))  # a failure resets the passes
    replay.feed(a_run(3, check("links")))
    assert replay.only().status == IncidentStatus.OPEN
    due = replay.feed(a_run(4, check("links")))
    assert replay.events() == [("run-000", NEW), ("run-004", RESOLVED)]
    [resolved] = due[RESOLVED]
    assert resolved.status == IncidentStatus.RESOLVED
    assert resolved.resolved_at == T0 + 4 * HOUR + timedelta(minutes=10)
    assert resolved.last_seen_at == T0 + 2 * HOUR


def test_by_default_one_passing_run_resolves_and_a_return_is_a_new_incident() -> None:
    replay = Replay()
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links")))
    replay.feed(a_run(2, check("links", broken_link())))
    assert replay.events() == [("run-000", NEW), ("run-001", RESOLVED), ("run-002", NEW)]
    first, second = replay.incidents.values()
    assert (first.status, second.status) == (IncidentStatus.RESOLVED, IncidentStatus.OPEN)
    assert second.first_seen_run == "run-002"


def test_a_skipped_or_errored_check_resolves_nothing_and_counts_no_failure() -> None:
    replay = Replay({"after_failures": 2})
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links", status=Status.SKIP)))
    replay.feed(a_run(2, check("links", status=Status.ERROR)))
    replay.feed(a_run(3, check("other")))  # the check did not run at all (an interrupted run)
    incident = replay.only()
    assert (incident.status, incident.consecutive_failures, incident.consecutive_passes) == (
        IncidentStatus.PENDING,
        1,
        0,
    )
    replay.feed(a_run(4, check("links", broken_link())))
    assert replay.events() == [("run-004", NEW)]


def test_an_open_incident_stays_open_while_its_check_is_skipped() -> None:
    replay = Replay()
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links", status=Status.SKIP)))
    assert replay.only().status == IncidentStatus.OPEN
    assert replay.events() == [("run-000", NEW)]


def test_a_warn_or_fail_check_that_no_longer_reports_the_finding_resolves_it() -> None:
    replay = Replay()
    replay.feed(a_run(0, check("links", broken_link("/a"))))
    replay.feed(a_run(1, check("links", broken_link("/b"))))
    assert sorted(replay.events()) == [("run-000", NEW), ("run-001", NEW), ("run-001", RESOLVED)]


def test_a_muted_check_changes_state_but_sends_nothing_until_unmuted() -> None:
    muted = {"checks": {"links": {"mute": True}}}
    replay = Replay(muted)
    replay.feed(a_run(0, check("links", broken_link())))
    assert replay.only().status == IncidentStatus.OPEN
    assert replay.events() == []
    replay.config = Replay().config
    replay.feed(a_run(1, check("links", broken_link())))
    assert replay.events() == [("run-001", NEW)]


def test_per_check_overrides_beat_the_section_defaults() -> None:
    replay = Replay(
        {
            "after_failures": 3,
            "remind_every_h": 0,
            "checks": {"checkout": {"after_failures": 1, "remind_every_h": 2, "resolve_after_passes": 2}},
        }
    )
    replay.feed(
        a_run(0, check("links", broken_link()), check("checkout", scenario_failed(), kind="scenario"))
    )
    assert replay.sent == [("run-000", NEW, "checkout")]
    replay.feed(
        a_run(2, check("links", broken_link()), check("checkout", scenario_failed(), kind="scenario"))
    )
    assert replay.sent[-1] == ("run-002", REMINDER, "checkout")
    replay.feed(a_run(3, check("links"), check("checkout", kind="scenario")))
    assert replay.incidents[2].status == IncidentStatus.OPEN  # needs 2 passes


def test_a_link_to_another_host_waits_for_two_failing_runs_by_default() -> None:
    replay = Replay()
    replay.feed(a_run(0, check("links", broken_link("/x", host="https://partner.example"))))
    assert replay.events() == []
    replay.feed(a_run(1, check("links", broken_link("/x", host="https://partner.example"))))
    assert replay.events() == [("run-001", NEW)]


def test_a_check_override_also_applies_to_links_to_other_hosts() -> None:
    replay = Replay({"checks": {"links": {"after_failures": 1}}})
    replay.feed(a_run(0, check("links", broken_link("/x", host="https://partner.example"))))
    assert replay.events() == [("run-000", NEW)]


def test_only_link_findings_on_other_hosts_are_external() -> None:
    on_site = check("links", broken_link("/x")).findings[0]
    www = check("links", broken_link("/x", host="http://www.127.0.0.1:8000")).findings[0]
    other_port = check("links", broken_link("/x", host="http://127.0.0.1:9000")).findings[0]
    partner = check("links", broken_link("/x", host="https://partner.example")).findings[0]
    payment = check("pay", scenario_failed()).findings[0]
    payment.url = "https://api.stripe.com/v1/charges"  # not a link: no crawler verdict
    assert [is_external_link(f, BASE) for f in (on_site, www, other_port, partner, payment)] == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_nothing_is_sent_during_maintenance_and_a_new_incident_is_announced_after_it() -> None:
    window = {"start": (T0 + HOUR).isoformat(), "end": (T0 + 3 * HOUR).isoformat()}
    replay = Replay({"maintenance": [window]})
    replay.feed(a_run(1, check("links", broken_link())))
    replay.feed(a_run(2, check("links", broken_link())))
    assert replay.only().status == IncidentStatus.OPEN
    assert replay.only().consecutive_failures == 2  # the state advanced
    assert replay.events() == []
    replay.feed(a_run(3, check("links", broken_link())))
    assert replay.events() == [("run-003", NEW)]


def test_a_resolution_during_maintenance_is_announced_after_it() -> None:
    window = {"start": (T0 + HOUR).isoformat(), "end": (T0 + 3 * HOUR).isoformat()}
    replay = Replay({"maintenance": [window]})
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links")))
    assert replay.only().status == IncidentStatus.RESOLVED
    assert replay.events() == [("run-000", NEW)]
    replay.feed(a_run(3, check("links")))
    assert replay.events() == [("run-000", NEW), ("run-003", RESOLVED)]


def test_an_incident_opened_and_resolved_within_maintenance_is_never_announced() -> None:
    window = {"start": T0.isoformat(), "end": (T0 + 3 * HOUR).isoformat()}
    replay = Replay({"maintenance": [window]})
    replay.feed(a_run(0, check("links", broken_link())))
    replay.feed(a_run(1, check("links")))
    replay.feed(a_run(4, check("links")))
    assert replay.events() == []


def test_a_weekly_window_mutes_its_hours_only() -> None:
    # T0 is Monday 02:00 UTC; the window is Monday 04:00-06:00 in Berlin, 03:00-05:00 UTC in November.
    weekly = {"days": ["mon"], "from": "04:00", "to": "06:00", "timezone": "Europe/Berlin"}
    replay = Replay({"maintenance": [weekly]})
    replay.feed(a_run(0, check("links", broken_link("/a"))))  # 02:10 UTC
    replay.feed(a_run(1, check("links", broken_link("/a"), broken_link("/b"))))  # 03:10 UTC
    assert replay.sent == [("run-000", NEW, "links")]
    replay.feed(a_run(3, check("links", broken_link("/a"), broken_link("/b"))))  # 05:10 UTC
    assert [(run, event, i.url) for run, event, i in replay.due_log] == [
        ("run-000", NEW, f"{BASE}/a"),
        ("run-003", NEW, f"{BASE}/b"),
    ]


def test_warnings_become_incidents_too_so_a_channel_can_ask_for_them() -> None:
    replay = Replay()
    due = replay.feed(a_run(0, check("links", warning())))
    assert [i.severity for i in due[NEW]] == ["warning"]


def test_a_scenario_failure_keeps_its_failing_step() -> None:
    replay = Replay()
    due = replay.feed(a_run(0, check("checkout", scenario_failed("pay"), kind="scenario")))
    assert [i.step for i in due[NEW]] == ["pay"]
    replay.feed(a_run(1, check("checkout", scenario_failed("confirm"), kind="scenario")))
    # Another step failing is another problem: its key, hence its fingerprint, differs.
    assert [i.step for i in replay.incidents.values()] == ["pay", "confirm"]


def test_only_a_scenario_step_is_a_step_not_another_findings_key() -> None:
    fragment = broken_link("/faq#returns")
    fragment.kind, fragment.key, fragment.evidence = "missing_fragment", "returns", {}
    replay = Replay()
    due = replay.feed(a_run(0, check("links", fragment)))
    assert [i.step for i in due[NEW]] == [None]

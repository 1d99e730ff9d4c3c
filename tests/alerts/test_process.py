"""process_run end to end: incidents in a real database, messages through Apprise to real loopback
receivers (a JSON webhook and the product's SMTP sink), every attempt recorded."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine

from auditor.alerts import AlertsConfig, notify_after_run, process_run
from auditor.alerts.config import ChannelConfig
from auditor.mail.sink import MailSink
from auditor.store import IncidentStatus, Store
from tests.alerts.receivers import Webhook, closed_port
from tests.alerts.runs import BASE, HOUR, T0, a_run, broken_link, check, recorded, scenario_failed, warning

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def config(**channels: dict[str, Any]) -> AlertsConfig:
    return AlertsConfig.model_validate({"channels": channels})


def test_the_same_failure_over_five_runs_is_one_incident_and_one_message(
    store: Store, webhook: Webhook
) -> None:
    cfg = config(hook={"url": webhook.url()})
    for n in range(5):
        run = a_run(n, check("links", broken_link()))
        recorded(store, run)
        process_run(store, run, cfg, now=run.started_at + timedelta(minutes=5))
    assert webhook.titles() == ["[auditor] nightly: 1 new failure on demo"]
    [incident] = store.list_incidents()
    assert (incident.consecutive_failures, incident.first_seen_run, incident.last_seen_run) == (
        5,
        "run-000",
        "run-004",
    )
    [sent] = store.notifications()
    assert (sent.channel, sent.event, sent.incident_ids, sent.ok, sent.run_id) == (
        "hook",
        "new",
        (incident.id,),
        True,
        "run-000",
    )


def test_a_message_says_what_where_since_when_which_step_and_links_the_report(
    store: Store, webhook: Webhook, tmp_path: Path
) -> None:
    shot = tmp_path / "checkout" / "screenshot.png"
    shot.parent.mkdir()
    shot.write_bytes(PNG)
    cfg = config(hook={"url": webhook.url("/ops")})
    run = a_run(
        0,
        check("links", broken_link()),
        check("checkout", scenario_failed("pay"), kind="scenario", artifacts=[shot]),
        report_dir=tmp_path,
    )
    [sent] = process_run(store, run, cfg, now=T0 + timedelta(minutes=7))
    assert sent.ok and sent.title == "[auditor] nightly: 2 new failures on demo"
    [got] = webhook.received
    assert got.path == "/ops"
    assert got.body["type"] == "failure"
    body = got.body["message"]
    assert "2 new failures in audit 'nightly' on demo (http://127.0.0.1:8000), run run-000." in body
    assert "1. broken_link in check 'links' (error)" in body
    assert f"Link {BASE}/gone (linked from {BASE}/) is dead: HTTP 404." in body
    assert f"Where: {BASE}/gone" in body
    assert "Since: 2026-11-23 02:00 UTC (1 failing run in a row)" in body
    assert "2. scenario_failed in check 'checkout' (error)" in body
    assert "Failing step: pay" in body
    assert f"Report: {tmp_path / 'report.html'}" in body
    [attachment] = got.body["attachments"]
    assert (attachment["filename"], attachment["mimetype"]) == ("screenshot.png", "image/png")


def test_the_report_url_replaces_the_report_path_and_screenshots_can_be_left_out(
    store: Store, webhook: Webhook, tmp_path: Path
) -> None:
    shot = tmp_path / "screenshot.png"
    shot.write_bytes(PNG)
    cfg = config(hook={"url": webhook.url(), "attach_screenshot": False})
    run = a_run(
        0, check("checkout", scenario_failed(), kind="scenario", artifacts=[shot]), report_dir=tmp_path
    )
    process_run(store, run, cfg, report_url="https://ci.example/runs/run-000/report.html")
    [got] = webhook.received
    assert "Report: https://ci.example/runs/run-000/report.html" in got.body["message"]
    assert got.body["attachments"] == []


def test_the_configured_report_url_names_the_run(store: Store, webhook: Webhook, tmp_path: Path) -> None:
    cfg = AlertsConfig.model_validate(
        {
            "channels": {"hook": {"url": webhook.url()}},
            "report_url": "https://reports.example/{run_id}/report.html",
        }
    )
    run = a_run(0, check("links", broken_link()), report_dir=tmp_path)
    recorded(store, run)
    notify_after_run(store, run, cfg)
    [got] = webhook.received
    assert f"Report: https://reports.example/{run.id}/report.html" in got.body["message"]


def test_a_report_url_without_the_run_is_a_config_problem() -> None:
    with pytest.raises(ValidationError, match=r"must contain \{run_id\}"):
        AlertsConfig.model_validate({"report_url": "https://reports.example/latest.html"})


def test_a_reminder_and_the_resolution_follow_with_how_long_it_lasted(store: Store, webhook: Webhook) -> None:
    cfg = AlertsConfig.model_validate({"channels": {"hook": {"url": webhook.url()}}, "remind_every_h": 24})
    for n in (0, 12, 24):
        process_run(store, a_run(n, check("links", broken_link())), cfg, now=T0 + n * HOUR)
    process_run(store, a_run(26, check("links")), cfg, now=T0 + 26 * HOUR + timedelta(minutes=30))
    assert webhook.titles() == [
        "[auditor] nightly: 1 new failure on demo",
        "[auditor] nightly: 1 failure still open on demo",
        "[auditor] nightly: 1 failure resolved on demo",
    ]
    reminder, resolved = webhook.received[1].body, webhook.received[2].body
    assert "Since: 2026-11-23 02:00 UTC, open for 1 d (3 failing runs in a row)" in reminder["message"]
    assert reminder["type"] == "warning"
    assert (
        "Fixed: failing from 2026-11-23 02:00 UTC to 2026-11-24 02:00 UTC, resolved after 1 d 2 h"
        in resolved["message"]
    )
    assert resolved["type"] == "success"
    assert store.list_incidents() == []
    [done] = store.list_incidents(statuses=[IncidentStatus.RESOLVED])
    assert done.resolved_notified_at is not None
    assert [n.event for n in store.notifications()] == ["new", "reminder", "resolved"]


def test_new_and_resolved_incidents_of_one_run_are_two_messages_per_channel(
    store: Store, webhook: Webhook
) -> None:
    cfg = config(a={"url": webhook.url("/a")}, b={"url": webhook.url("/b")})
    process_run(store, a_run(0, check("links", broken_link("/x"))), cfg)
    webhook.received.clear()
    sent = process_run(store, a_run(1, check("links", broken_link("/y"), broken_link("/z"))), cfg)
    assert sorted((n.channel, n.event, len(n.incident_ids)) for n in sent) == [
        ("a", "new", 2),
        ("a", "resolved", 1),
        ("b", "new", 2),
        ("b", "resolved", 1),
    ]
    assert sorted((r.path, r.body["title"]) for r in webhook.received) == [
        ("/a", "[auditor] nightly: 1 failure resolved on demo"),
        ("/a", "[auditor] nightly: 2 new failures on demo"),
        ("/b", "[auditor] nightly: 1 failure resolved on demo"),
        ("/b", "[auditor] nightly: 2 new failures on demo"),
    ]


def test_channels_get_only_the_severities_checks_and_audits_they_ask_for(
    store: Store, webhook: Webhook
) -> None:
    cfg = config(
        errors={"url": webhook.url("/errors")},
        everything={"url": webhook.url("/everything"), "min_severity": "warning"},
        checkout={"url": webhook.url("/checkout"), "checks": ["checkout"]},
        weekly={"url": webhook.url("/weekly"), "audits": ["weekly"]},
    )
    process_run(store, a_run(0, check("links", broken_link(), warning())), cfg)
    assert sorted((r.path, r.body["title"]) for r in webhook.received) == [
        ("/errors", "[auditor] nightly: 1 new failure on demo"),
        ("/everything", "[auditor] nightly: 2 new failures on demo"),
    ]


def test_a_failing_channel_is_recorded_and_the_others_still_get_the_message(
    store: Store, webhook: Webhook, caplog: Any
) -> None:
    cfg = config(down={"url": f"json://127.0.0.1:{closed_port()}/hook"}, hook={"url": webhook.url()})
    # `validate` refuses such a URL; one that gets past it (another Apprise version) is only recorded.
    cfg.channels["bad"] = ChannelConfig.model_construct(url="nosuchservice://token")
    sent = process_run(store, a_run(0, check("links", broken_link())), cfg)
    by_channel = {n.channel: n for n in sent}
    assert by_channel["hook"].ok and by_channel["hook"].error is None
    assert not by_channel["down"].ok and "Connection error" in (by_channel["down"].error or "")
    assert not by_channel["bad"].ok and "not a usable Apprise URL" in (by_channel["bad"].error or "")
    assert "nosuchservice://token" not in (by_channel["bad"].error or "")
    assert len(webhook.received) == 1
    assert {(n.channel, n.ok) for n in store.notifications()} == {
        ("down", False),
        ("bad", False),
        ("hook", True),
    }
    assert "alert channel 'down' could not send the new message" in caplog.text
    # The failed "new" is not sent again next run: the incident counts as announced.
    again = process_run(store, a_run(1, check("links", broken_link())), cfg)
    assert again == []


def test_email_goes_through_smtp_into_the_sink_with_the_screenshot(
    store: Store, mail_sink: MailSink, tmp_path: Path
) -> None:
    shot = tmp_path / "screenshot.png"
    shot.write_bytes(PNG)
    to = f"ops-{uuid.uuid4().hex[:8]}@example.com"  # the sink is shared by the tests of this module
    cfg = config(mail={"url": f"mailto://127.0.0.1:{mail_sink.port}?from=auditor@example.com&to={to}"})
    run = a_run(
        0, check("checkout", scenario_failed("pay"), kind="scenario", artifacts=[shot]), report_dir=tmp_path
    )
    [sent] = process_run(store, run, cfg)
    assert sent.ok, sent.error
    [stored] = mail_sink.store.mail_for(to)
    message = email.message_from_bytes(stored.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "[auditor] nightly: 1 new failure on demo"
    body = message.get_body(preferencelist=("plain", "html"))
    assert body is not None and "Failing step: pay" in body.get_content()
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "screenshot.png"
    assert attached.get_content() == PNG


def test_nothing_is_sent_in_maintenance_and_the_incident_is_announced_after_it(
    store: Store, webhook: Webhook
) -> None:
    window = {"start": T0.isoformat(), "end": (T0 + 2 * HOUR).isoformat()}
    cfg = AlertsConfig.model_validate({"channels": {"hook": {"url": webhook.url()}}, "maintenance": [window]})
    assert process_run(store, a_run(0, check("links", broken_link())), cfg, now=T0 + HOUR) == []
    [incident] = store.list_incidents()
    assert incident.notified_at is None
    [sent] = process_run(store, a_run(3, check("links", broken_link())), cfg, now=T0 + 3 * HOUR)
    assert (sent.event, sent.run_id) == ("new", "run-003")
    assert "Since: 2026-11-23 02:00 UTC (2 failing runs in a row)" in webhook.received[0].body["message"]


def test_audits_keep_their_own_incidents(store: Store, webhook: Webhook) -> None:
    cfg = config(hook={"url": webhook.url()})
    process_run(store, a_run(0, check("links", broken_link()), audit="nightly"), cfg)
    process_run(store, a_run(1, check("links"), audit="hourly"), cfg)
    assert [i.audit for i in store.list_incidents()] == ["nightly"]
    assert webhook.titles() == ["[auditor] nightly: 1 new failure on demo"]


def test_without_channels_the_state_still_advances(store: Store) -> None:
    assert process_run(store, a_run(0, check("links", broken_link())), AlertsConfig()) == []
    [incident] = store.list_incidents()
    assert incident.status == IncidentStatus.OPEN


def test_notify_after_run_logs_instead_of_raising_when_the_database_is_gone(
    webhook: Webhook, caplog: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'auditor.db'}"
    gone = Store(url, create_engine(url))
    run = a_run(0, check("links", broken_link()))
    assert notify_after_run(gone, run, config(hook={"url": webhook.url()})) == []
    assert "alerts for run run-000 could not be processed" in caplog.text
    assert webhook.received == []


def test_a_run_processed_twice_or_after_a_later_run_sends_and_counts_nothing_more(
    store: Store, webhook: Webhook
) -> None:
    cfg = config(hook={"url": webhook.url()})
    older, newer = a_run(0, check("links", broken_link())), a_run(1, check("links", broken_link()))
    for run in (older, newer):
        recorded(store, run)
    assert len(process_run(store, newer, cfg, now=T0 + 2 * HOUR)) == 1
    assert process_run(store, newer, cfg, now=T0 + 3 * HOUR) == []
    assert process_run(store, older, cfg, now=T0 + 3 * HOUR) == []
    [incident] = store.list_incidents()
    assert (incident.consecutive_failures, incident.last_seen_run) == (1, "run-001")
    assert webhook.titles() == ["[auditor] nightly: 1 new failure on demo"]

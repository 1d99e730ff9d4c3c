"""Acknowledged and muted incidents (the dashboard's notes) in the alert policy: no reminders while
acknowledged or muted, reminders again once unmuted or the mute has ended, and the resolution still
announced. Real crawls of the demo shop, a real store and a real loopback webhook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from auditor import config as config_mod
from auditor.alerts.process import process_run
from auditor.app import Overrides, run_audit_now
from auditor.demo import DemoShop
from auditor.demo.faults import Faults
from auditor.store import Store
from auditor.store.web_models import IncidentNoteRow, ensure_tables
from tests.alerts.receivers import Webhook

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    try:
        yield hook
    finally:
        hook.close()


def test_acknowledged_and_muted_incidents_get_no_reminders_but_their_resolution(
    tmp_path: Path, webhook: Webhook
) -> None:
    active = {"dead-link": ""}
    with DemoShop(faults=Faults(active=active)) as shop:
        (tmp_path / "auditor.toml").write_text(
            f"""
database_url = "sqlite:///auditor.db"
[sites.demo]
base_url = "{shop.base_url}"
[checks.links]
kind = "crawl"
external = false
[audits.nightly]
checks = ["links"]
[alerts]
after_failures = 1
remind_every_h = 24
[alerts.channels.ops]
url = "{webhook.url("/ops")}"
""",
            encoding="utf-8",
        )
        settings = config_mod.load(tmp_path / "auditor.toml", environ={})
        store = Store.open(settings.database_url())
        ensure_tables(store.engine)  # as `auditor serve` does
        try:
            events: list[list[str]] = []

            def run_at(now: datetime) -> None:
                run, _ = run_audit_now(
                    settings, "nightly", overrides=Overrides(write_reports=False), store=store
                )
                sent = process_run(store, run, settings.model.alerts, now=now)
                events.append([n.event for n in sent])

            def note(action: str, at: datetime, until: datetime | None = None) -> None:
                [incident] = store.list_incidents()
                with Session(store.engine) as s, s.begin():
                    s.add(
                        IncidentNoteRow(
                            incident_id=incident.id, action=action, by_user="ann", at=at, note="", until=until
                        )
                    )

            run_at(T0)  # new
            note("ack", T0 + timedelta(hours=1))
            run_at(T0 + timedelta(hours=25))  # acknowledged: no reminder
            note("unmute", T0 + timedelta(hours=26))
            run_at(T0 + timedelta(hours=50))  # reminder
            note("mute", T0 + timedelta(hours=51), until=T0 + timedelta(hours=100))
            run_at(T0 + timedelta(hours=75))  # muted: no reminder
            run_at(T0 + timedelta(hours=125))  # the mute ended: reminder
            note("mute", T0 + timedelta(hours=126))
            active.pop("dead-link")
            run_at(T0 + timedelta(hours=150))  # fixed while muted: the resolution is announced
        finally:
            store.close()
    assert events == [["new"], [], ["reminder"], [], ["reminder"], ["resolved"]]
    assert [r.body["title"].split(":")[0] for r in webhook.received] == ["[auditor] nightly"] * 4

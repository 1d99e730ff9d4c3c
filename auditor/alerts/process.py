"""process_run(): after a run, update its audit's incidents and send the messages that are due.

The order matters for a crash-safe, exactly-once feel: the incidents (with the fact that they were
announced) are saved before anything is sent, so a process killed while sending never sends the
same "new" message again; every attempt is then recorded, the failed ones with their reason.
Incidents are kept per audit AND site (a template audit runs for many sites, see docs/agencies.md).
Reading and saving the incidents is one transaction under a per-(audit, site) lock (`Store.apply_run`), so
the scheduler and a manual `auditor run` finishing together take turns, and a run applied twice, or
after a later run of its audit, changes nothing.

An incident acknowledged or muted on the dashboard (`auditor serve`) gets no reminders; its
new and resolved messages still go out.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

from auditor.alerts.config import AlertsConfig
from auditor.alerts.message import Message, render, report_link
from auditor.alerts.policy import Decision, Event, advance
from auditor.alerts.send import send
from auditor.results import RunResult
from auditor.store import Store
from auditor.store.incidents import Incident, Notification

log = logging.getLogger("auditor.alerts")


def process_run(
    store: Store,
    run: RunResult,
    config: AlertsConfig,
    *,
    report_url: str | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """Apply a finished `run` to its audit's incidents and notify every channel that wants to know.

    Returns every attempt made (also recorded in the store). A channel that fails is logged and
    recorded, never raised; a database that fails raises `StoreError`, as everywhere else.
    """
    now = now or datetime.now(UTC)
    decisions: list[Decision] = []

    def decide(incidents: list[Incident]) -> list[Incident]:
        decisions.append(advance(incidents, run, config, now))
        # A new incident belongs to the run's site (the policy knows audits and checks only).
        return [i if i.id is not None else replace(i, site=run.site) for i, _ in decisions[-1].changes]

    saved = store.apply_run(run.audit, run.id, run.started_at, decide, now=now, site=run.site)
    if saved is None:
        log.info(
            "alerts: run %s of %r was already applied, or a later run was; nothing sent", run.id, run.audit
        )
        return []
    decision = decisions[-1]
    due: dict[Event, list[Incident]] = {event: [] for event in Event}
    reminders = [i.id for i, (_, e) in zip(saved, decision.changes, strict=True) if e == Event.REMINDER]
    silenced = _silenced(store, reminders, now)
    for incident, (_, event) in zip(saved, decision.changes, strict=True):
        # Acknowledged or muted on the dashboard: no reminders; new and resolved still go out.
        if event == Event.REMINDER and incident.id in silenced:
            continue
        if event is not None:
            due[event].append(incident)
    link = report_link(run, report_url)
    attempts: list[Notification] = []
    for name, channel in config.channels.items():
        for event, incidents in due.items():
            chosen = [i for i in incidents if channel.wants(i.audit, i.check, i.severity)]
            if not chosen:
                continue
            message = render(event, chosen, run, link=link, now=now)
            attempts.append(
                _deliver(name, channel.url, channel.attach_screenshot, event, message, chosen, run, now)
            )
    return store.record_notifications(attempts)


def _silenced(store: Store, ids: list[int | None], now: datetime) -> set[int]:
    """Those of `ids` acknowledged or muted on the dashboard (auditor.store.web_models)."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from auditor.store.web_models import silenced_incidents

    wanted = [i for i in ids if i is not None]
    if not wanted:
        return set()
    try:
        with Session(store.engine) as s:
            return silenced_incidents(s, wanted, now)
    except SQLAlchemyError as exc:  # a reminder too many beats a reminder lost
        log.warning("alerts: could not read the dashboard's acknowledgements, reminding anyway: %s", exc)
        return set()


def _deliver(
    name: str,
    url: str,
    attach: bool,
    event: Event,
    message: Message,
    incidents: list[Incident],
    run: RunResult,
    now: datetime,
) -> Notification:
    try:
        delivery = send(url, event, message, attach=attach)
        ok, error = delivery.ok, delivery.error
    except Exception as exc:  # our own bug in sending must not lose the record of the attempt either
        ok, error = False, f"{type(exc).__name__}: {exc}"
    if not ok:
        log.warning(
            "alert channel %r could not send the %s message for run %s: %s", name, event, run.id, error
        )
    return Notification(
        run_id=run.id,
        audit=run.audit,
        channel=name,
        event=str(event),
        incident_ids=tuple(i.id for i in incidents if i.id is not None),
        title=message.title,
        ok=ok,
        error=error,
        sent_at=now,
    )


def notify_after_run(
    store: Store, run: RunResult, config: AlertsConfig, *, report_url: str | None = None
) -> list[Notification]:
    """process_run for the CLI and the scheduler: alerting must never turn a finished run into a crash,
    so anything that goes wrong (even the database) is logged and nothing is returned."""
    if report_url is None and config.report_url:
        report_url = config.report_url.replace("{run_id}", run.id)
    try:
        return process_run(store, run, config, report_url=report_url)
    except Exception:
        log.exception("alerts for run %s could not be processed; the run itself is recorded", run.id)
        return []

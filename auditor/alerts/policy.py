"""The alert policy, pure: previous incidents + one run's result + the config + the time -> what changed
and which messages are due. No I/O here, so every rule is tested with an injected clock.

Rules:
- A finding is *failing* in a run when the run reports it; it is *passing* only when its check ran
  to completion (pass, warn or fail) without reporting it. A skipped or errored check, or one the
  run never reached, says nothing: it neither resolves an incident nor counts a failure.
- A new failure opens a `pending` incident; it becomes `open` after `after_failures` failing runs
  in a row (2 for links to other hosts unless the check says otherwise), and `resolved` after
  `resolve_after_passes` passing runs in a row. A problem that returns later is a new incident.
- Messages follow the state, each exactly once: `new` when an open incident was never announced,
  `reminder` at the first run `remind_every_h` after the last message (less 10%, at most an hour,
  so a daily audit reminds daily) while it stays open, `resolved` when an announced incident is
  resolved. During maintenance, or for a muted check, nothing is due: the state still advances and
  what was held back goes out with the first run after the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from auditor.alerts.config import AlertsConfig
from auditor.results import Finding, RunResult, Status
from auditor.store.incidents import Incident, IncidentStatus

# Check outcomes that say something about every finding the check could report.
COMPLETED = frozenset({Status.PASS, Status.WARN, Status.FAIL})
REMINDER_SLACK = timedelta(hours=1)


class Event(StrEnum):
    """The three messages an incident can cause."""

    NEW = "new"
    REMINDER = "reminder"
    RESOLVED = "resolved"


@dataclass
class Decision:
    """What one run changes: every incident to save, each with the message it is due (or None)."""

    changes: list[tuple[Incident, Event | None]] = field(default_factory=list)


def is_external_link(finding: Finding, base_url: str) -> bool:
    """Whether `finding` is about a link to another host than the site's.

    The crawler and `auditor.crawl.linkcheck` mark every link they judge with an `evidence["verdict"]`;
    the host is compared without a leading `www.`, because a site at `shop.example` that redirects
    to `www.shop.example` is still the same site.
    """
    if "verdict" not in finding.evidence:
        return False
    here, there = _site_host(base_url), _site_host(finding.url)
    return bool(there) and there != here


def _site_host(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}:{port}" if port else host


def step_of(finding: Finding) -> str | None:
    """The scenario step that failed: a finding's `evidence["step"]`, else a `scenario_failed` finding's
    key (which is its step). Other kinds use the key for other things (a fragment name)."""
    step = finding.evidence.get("step") or (finding.key if finding.kind == "scenario_failed" else None)
    return str(step) if step else None


def advance(incidents: list[Incident], run: RunResult, config: AlertsConfig, now: datetime) -> Decision:
    """Apply `run` to the `incidents` of its audit and decide which messages are due at `now`."""
    failing: dict[tuple[str, str], Finding] = {}
    for result in run.checks:
        for f in result.findings:
            if f.fingerprint:
                failing[(result.name, f.fingerprint)] = f
    completed = {c.name for c in run.checks if c.derived_status() in COMPLETED}
    active = {(i.check, i.fingerprint): i for i in incidents if i.status != IncidentStatus.RESOLVED}
    current = [i for i in incidents if i.status == IncidentStatus.RESOLVED]

    for (check, fingerprint), f in failing.items():
        incident = active.pop((check, fingerprint), None)
        current.append(_failed(incident, check, f, run, config, now))
    for incident in active.values():
        passed = incident.check in completed
        current.append(_passed(incident, config, now) if passed else incident)

    quiet = config.in_maintenance(now)
    decision = Decision()
    for incident in current:
        event = None if quiet or config.policy(incident.check).mute else _due(incident, config, now)
        decision.changes.append((_announced(incident, event, now), event))
    return decision


def _failed(
    incident: Incident | None, check: str, f: Finding, run: RunResult, config: AlertsConfig, now: datetime
) -> Incident:
    seen = run.started_at
    if incident is None:
        incident = Incident(
            audit=run.audit,
            check=check,
            fingerprint=f.fingerprint,
            kind=f.kind,
            severity=str(f.severity),
            url=f.url,
            message=f.message,
            step=step_of(f),
            status=IncidentStatus.PENDING,
            first_seen_at=seen,
            last_seen_at=seen,
            first_seen_run=run.id,
            last_seen_run=run.id,
            consecutive_failures=0,
        )
    incident = replace(
        incident,
        kind=f.kind,
        severity=str(f.severity),
        url=f.url,
        message=f.message,
        step=step_of(f),
        last_seen_at=seen,
        last_seen_run=run.id,
        consecutive_failures=incident.consecutive_failures + 1,
        consecutive_passes=0,
    )
    policy = config.policy(incident.check, external=is_external_link(f, run.base_url))
    if incident.status == IncidentStatus.PENDING and incident.consecutive_failures >= policy.after_failures:
        incident = replace(incident, status=IncidentStatus.OPEN, opened_at=now)
    return incident


def _passed(incident: Incident, config: AlertsConfig, now: datetime) -> Incident:
    incident = replace(incident, consecutive_failures=0, consecutive_passes=incident.consecutive_passes + 1)
    if incident.consecutive_passes >= config.policy(incident.check).resolve_after_passes:
        incident = replace(incident, status=IncidentStatus.RESOLVED, resolved_at=now)
    return incident


def _due(incident: Incident, config: AlertsConfig, now: datetime) -> Event | None:
    if incident.status == IncidentStatus.RESOLVED:
        owed = incident.notified_at is not None and incident.resolved_notified_at is None
        return Event.RESOLVED if owed else None
    if incident.status != IncidentStatus.OPEN:
        return None
    if incident.notified_at is None:
        return Event.NEW
    every = timedelta(hours=config.policy(incident.check).remind_every_h)
    last = incident.last_reminded_at or incident.notified_at
    # Runs start a little earlier or later each time: without slack, a daily audit with a daily
    # reminder would remind only every other day.
    slack = min(every / 10, REMINDER_SLACK)
    if every and now - last >= every - slack:
        return Event.REMINDER
    return None


def _announced(incident: Incident, event: Event | None, now: datetime) -> Incident:
    if event == Event.NEW:
        return replace(incident, notified_at=now)
    if event == Event.REMINDER:
        return replace(incident, last_reminded_at=now)
    if event == Event.RESOLVED:
        return replace(incident, resolved_notified_at=now)
    return incident

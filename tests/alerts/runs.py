"""Runs built by hand, one per hour from T0, and a replay of the policy over them without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.alerts.config import AlertsConfig
from auditor.alerts.policy import Event, advance
from auditor.results import Artifact, CheckResult, Finding, RunResult, RunStatus, Severity, Status, worst
from auditor.store import Store
from auditor.store.incidents import Incident, IncidentStatus

BASE = "http://127.0.0.1:8000"
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def broken_link(path: str = "/gone", *, host: str = BASE) -> Finding:
    """A dead link as the crawler reports it (with its `verdict` evidence)."""
    url = f"{host}{path}"
    return Finding(
        "broken_link",
        Severity.ERROR,
        url,
        f"Link {url} (linked from {BASE}/) is dead: HTTP 404. Fix the target or remove the reference.",
        source=f"{BASE}/",
        evidence={"status": 404, "verdict": "broken"},
    )


def warning(path: str = "/slow") -> Finding:
    return Finding("redirect_chain", Severity.WARNING, f"{BASE}{path}", f"{BASE}{path} redirects twice")


def scenario_failed(step: str = "pay") -> Finding:
    return Finding(
        "scenario_failed",
        Severity.ERROR,
        f"{BASE}/checkout",
        f"guest_checkout failed at step '{step}': Page.click: Timeout 30000ms exceeded.",
        evidence={"scenario": "guest_checkout", "step": step},
        key=step,
    )


def check(
    name: str,
    *findings: Finding,
    status: Status | None = None,
    kind: str = "crawl",
    artifacts: list[Path] | None = None,
) -> CheckResult:
    """A finished check whose findings are finalized as the runner does it."""
    fresh = [replace(f, evidence=dict(f.evidence), sources=list(f.sources)) for f in findings]
    return CheckResult(
        status=status,
        findings=[f.finalize(name, BASE) for f in fresh],
        name=name,
        kind=kind,
        artifacts=[Artifact(p.name, p, "screenshot") for p in artifacts or []],
    )


def a_run(n: int, *checks: CheckResult, audit: str = "nightly", report_dir: Path | None = None) -> RunResult:
    """Run number `n`, started n hours after T0."""
    started = T0 + n * HOUR
    overall = worst([c.derived_status() for c in checks])
    return RunResult(
        id=f"run-{n:03d}",
        audit=audit,
        site="demo",
        base_url=BASE,
        trigger="schedule",
        started_at=started,
        status=RunStatus.PASS if overall == Status.SKIP else RunStatus(overall.value),
        finished_at=started + timedelta(minutes=5),
        checks=list(checks),
        report_dir=report_dir,
    )


class Replay:
    """The policy applied run after run, with the incidents kept in memory as the store keeps them."""

    def __init__(self, config: AlertsConfig | dict[str, Any] | None = None) -> None:
        self.config = (
            config if isinstance(config, AlertsConfig) else AlertsConfig.model_validate(config or {})
        )
        self.incidents: dict[int, Incident] = {}
        # (run id, event, check) of every message due, and the incidents themselves.
        self.sent: list[tuple[str, Event, str]] = []
        self.due_log: list[tuple[str, Event, Incident]] = []

    def feed(self, run: RunResult, now: datetime | None = None) -> dict[Event, list[Incident]]:
        """Apply `run` at `now` (default: its start + 10 min); returns the messages due, by event."""
        owed = [
            i
            for i in self.incidents.values()
            if i.status != IncidentStatus.RESOLVED or (i.notified_at and not i.resolved_notified_at)
        ]
        decision = advance(owed, run, self.config, now or run.started_at + timedelta(minutes=10))
        due: dict[Event, list[Incident]] = {e: [] for e in Event}
        for incident, event in decision.changes:
            key = incident.id if incident.id is not None else len(self.incidents) + 1
            incident = replace(incident, id=key)
            self.incidents[key] = incident
            if event is not None:
                due[event].append(incident)
                self.sent.append((run.id, event, incident.check))
                self.due_log.append((run.id, event, incident))
        return due

    def events(self) -> list[tuple[str, Event]]:
        return [(run_id, event) for run_id, event, _ in self.sent]

    def only(self) -> Incident:
        [incident] = self.incidents.values()
        return incident


def recorded(store: Store, run: RunResult) -> None:
    """Write `run` to the store as the runner does."""
    store.start_run(run)
    for c in run.checks:
        store.record_findings(run.id, c.findings)
        store.finish_check(run.id, c)
    store.finish_run(run)

"""Text for `auditor runs`, `auditor show RUN_ID` and `auditor incidents`: the history on a terminal.

Each formatter returns the whole text (no trailing newline), so the CLI only prints it and tests
compare strings. Times are UTC, like everything auditor stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.alerts.message import duration
from auditor.results import RunResult, RunStatus, Severity
from auditor.store.incidents import Incident, Notification
from auditor.store.store import RunSummary

# `auditor show` lists this many findings; the report has them all.
SHOW_FINDINGS = 50


def when(d: datetime) -> str:
    """A UTC timestamp for a table column whose header says `(UTC)`."""
    return d.strftime("%Y-%m-%d %H:%M")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart; the last column is never padded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_incidents(incidents: Sequence[Incident], now: datetime) -> str:
    """The open incidents: what fails, since when, last seen, how many failing runs in a row."""
    if not incidents:
        return "No open incidents."
    rows = [
        [
            str(i.id),
            i.status,
            i.audit,
            i.check,
            i.kind,
            when(i.first_seen_at),
            duration(now - i.first_seen_at),
            when(i.last_seen_at),
            i.last_seen_run,
            str(i.consecutive_failures),
            f"{i.url}" + (f" (step {i.step})" if i.step else ""),
        ]
        for i in incidents
    ]
    header = [
        "ID",
        "STATUS",
        "AUDIT",
        "CHECK",
        "KIND",
        "SINCE (UTC)",
        "FOR",
        "LAST SEEN (UTC)",
        "LAST RUN",
        "FAILS",
        "WHERE",
    ]
    count = f"{len(incidents)} incident{'s' if len(incidents) != 1 else ''}"
    return f"{table(header, rows)}\n\n{count}; `auditor show RUN_ID` shows the run that last saw one."


def format_runs(runs: Sequence[RunSummary], now: datetime | None = None, missed: Sequence[Any] = ()) -> str:
    """Recent runs, newest first: status, when, how long, and how many problems.

    Runs that went through a queue add when they were queued, how long they waited and the worker
    process that ran them; a queued or running run says how long so far (against `now`). `missed`
    (schedule slots no run was queued for, `auditor.queue.state.Slot`) are listed after the runs."""
    if not runs and not missed:
        return "No runs recorded yet; `auditor run AUDIT` records one."
    now = now or datetime.now(UTC)
    queued = any(r.queued_at is not None or r.worker for r in runs)
    rows = []
    for r in runs:
        waiting = r.status == RunStatus.QUEUED
        if waiting:
            started, took = "-", f"waiting {duration(now - (r.queued_at or r.started_at))}"
        elif r.finished_at is None:
            started, took = when(r.started_at), f"{duration(now - r.started_at)} so far"
        else:
            started, took = when(r.started_at), duration(r.finished_at - r.started_at)
        row = [r.id, r.audit, r.site, r.status, started, took]
        row += [str(int(r.stats.get("errors", 0))), str(int(r.stats.get("warnings", 0)))]
        if queued:
            waited = "-"
            if r.queued_at is not None and not waiting:
                waited = duration(max(r.started_at - r.queued_at, timedelta(0)))
            row += [waited, r.worker or "-"]
        rows.append(row)
    header = ["RUN", "AUDIT", "SITE", "STATUS", "STARTED (UTC)", "TOOK", "ERRORS", "WARNINGS"]
    if queued:
        header += ["WAITED", "WORKER"]
    text = table(header, rows) if rows else "No runs recorded yet."
    if missed:
        slot_rows = [
            [when(m.slot_at), m.audit, m.site, (m.detail or "").splitlines()[0][:120] if m.detail else ""]
            for m in missed
        ]
        text += f"\n\nMissed slots ({len(missed)}): scheduled, but no run could be queued\n" + table(
            ["SLOT (UTC)", "AUDIT", "SITE", "WHY"], slot_rows
        )
    return text


def format_run(run: RunResult, notifications: Sequence[Notification] = ()) -> str:
    """One run: its checks, its findings (errors first) and the alerts it sent."""
    took = f", took {duration(run.finished_at - run.started_at)}" if run.finished_at else ""
    lines = [
        f"Run {run.id}: {run.status}",
        f"  audit {run.audit!r} on {run.site} ({run.base_url}), {run.trigger}",
        f"  started {when(run.started_at)} UTC{took}",
    ]
    if run.report_dir:
        lines.append(f"  report {run.report_dir / 'report.html'}")
    lines.append("")
    lines.append("Checks:")
    rows = [
        [c.name, c.kind, c.derived_status(), f"{c.duration_s:.1f} s", str(len(c.findings)), c.message or ""]
        for c in run.checks
    ]
    lines.extend(
        f"  {line}" for line in table(["CHECK", "KIND", "STATUS", "TOOK", "FINDINGS", ""], rows).splitlines()
    )
    evidence = [(c.name, a) for c in run.checks for a in c.artifacts]
    if evidence:
        # The screenshot, trace (`playwright show-trace trace.zip`) and page of a failed scenario.
        lines.extend(["", "Evidence:"])
        lines.extend(f"  {name}: {a.path}" for name, a in evidence)
    findings = sorted(run.findings, key=lambda f: (f.severity != Severity.ERROR, f.check, f.kind, f.url))
    if findings:
        lines.extend(["", f"Findings ({len(findings)}):"])
        for f in findings[:SHOW_FINDINGS]:
            lines.append(f"  {f.severity}: {f.check}: {f.kind}: {f.url}")
            lines.append(f"      {f.message.strip().splitlines()[0] if f.message.strip() else ''}".rstrip())
        if len(findings) > SHOW_FINDINGS:
            lines.append(f"  ... and {len(findings) - SHOW_FINDINGS} more in the report")
    if notifications:
        lines.extend(["", "Alerts sent:"])
        for n in notifications:
            outcome = "sent" if n.ok else f"FAILED: {n.error}"
            lines.append(f"  {when(n.sent_at)} UTC  {n.channel}  {n.event}: {n.title}  ({outcome})")
    return "\n".join(lines)

"""The text of an alert: what broke, where, since when, at which step, and where the report is.

Plain text, because it has to read well in an email, a Slack message and a JSON webhook alike.
One message lists every incident of one event (new, reminder or resolved) of one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from auditor.alerts.policy import Event
from auditor.results import RunResult
from auditor.store.incidents import Incident

# Past this many, a message lists the first ones and points to the report for the rest.
MAX_LISTED = 20
MAX_ATTACHMENTS = 3

_HEADLINE = {
    Event.NEW: ("new failure", "new failures"),
    Event.REMINDER: ("failure still open", "failures still open"),
    Event.RESOLVED: ("failure resolved", "failures resolved"),
}


@dataclass(frozen=True)
class Message:
    """A rendered alert: title, body, and the files worth attaching (failure screenshots)."""

    title: str
    body: str
    attachments: tuple[Path, ...] = ()


def when(d: datetime) -> str:
    """A timestamp as people read it in an alert: `2026-11-23 02:00 UTC`."""
    return d.strftime("%Y-%m-%d %H:%M UTC")


def duration(delta: timedelta) -> str:
    """`3 d 4 h`, `2 h 10 min`, `5 min`, `42 s`: how long something lasted, to the unit that matters."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min" if mins else f"{seconds} s"


def report_link(run: RunResult, report_url: str | None = None) -> str | None:
    """Where the run's report is: the given URL, else the path of its report.html."""
    if report_url:
        return report_url
    return str(run.report_dir / "report.html") if run.report_dir else None


def render(
    event: Event, incidents: list[Incident], run: RunResult, *, link: str | None, now: datetime
) -> Message:
    """The message announcing `incidents` (all of one `event`) after `run`."""
    n = len(incidents)
    headline = _HEADLINE[event][0 if n == 1 else 1]
    title = f"[auditor] {run.audit}: {n} {headline} on {run.site}"
    lines = [f"{n} {headline} in audit {run.audit!r} on {run.site} ({run.base_url}), run {run.id}.", ""]
    for number, incident in enumerate(incidents[:MAX_LISTED], 1):
        lines.extend(_entry(number, event, incident, now))
        lines.append("")
    if n > MAX_LISTED:
        lines.extend([f"... and {n - MAX_LISTED} more: see the report.", ""])
    if link:
        lines.append(f"Report: {link}")
    attachments = screenshots(run, incidents) if event != Event.RESOLVED else ()
    return Message(title=title, body="\n".join(lines).rstrip() + "\n", attachments=attachments)


def _entry(number: int, event: Event, i: Incident, now: datetime) -> list[str]:
    lines = [f"{number}. {i.kind} in check {i.check!r} ({i.severity})"]
    lines.extend(f"   {line}" for line in i.message.strip().splitlines()[:3])
    if i.step:
        lines.append(f"   Failing step: {i.step}")
    lines.append(f"   Where: {i.url}")
    runs = f"{i.consecutive_failures} failing run{'s' if i.consecutive_failures != 1 else ''} in a row"
    if event == Event.NEW:
        lines.append(f"   Since: {when(i.first_seen_at)} ({runs})")
    elif event == Event.REMINDER:
        lines.append(
            f"   Since: {when(i.first_seen_at)}, open for {duration(now - i.first_seen_at)} ({runs})"
        )
    else:
        end = i.resolved_at or now
        lines.append(
            f"   Fixed: failing from {when(i.first_seen_at)} to {when(i.last_seen_at)}, "
            f"resolved after {duration(end - i.first_seen_at)}"
        )
    return lines


def screenshots(run: RunResult, incidents: list[Incident]) -> tuple[Path, ...]:
    """The failure screenshots the run's checks left for these incidents (files that exist)."""
    checks = {i.check for i in incidents}
    found = [
        a.path
        for c in run.checks
        if c.name in checks
        for a in c.artifacts
        if a.kind == "screenshot" and a.path.is_file()
    ]
    return tuple(dict.fromkeys(found))[:MAX_ATTACHMENTS]

"""The report's view of history: each finding's mark, the previous run's report, the runs chart.

The chart is inline SVG with a text alternative, so report.html stays one self-contained file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from auditor.results import Finding, RunResult, RunStatus
from auditor.store.history import WINDOW, History, PastRun

# The banner's colours, so a bar reads like the report it stands for.
COLOURS = {
    RunStatus.PASS: "#1f8a4c",
    RunStatus.WARN: "#b7791f",
    RunStatus.FAIL: "#c0392b",
    RunStatus.ERROR: "#5a6270",
    RunStatus.INTERRUPTED: "#8a94a6",
    RunStatus.RUNNING: "#8a94a6",
}
_BAR_W, _GAP, _HEIGHT, _MIN_H = 14, 4, 60, 3


@dataclass(frozen=True)
class Mark:
    """Whether a finding is new in this run, or since when it has been reported."""

    new: bool
    since: datetime | None
    open_days: int | None

    @property
    def label(self) -> str:
        if self.new or self.since is None:
            return "new"
        return f"known since {self.since:%Y-%m-%d} (open {_days(self.open_days or 0)})"

    def as_json(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "known_since": self.since.isoformat() if self.since else None,
            "open_days": self.open_days,
        }


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def open_for(since: datetime, now: datetime) -> int:
    """Whole days between `since` and `now` (a problem seen yesterday at 03:00 and now is 1 day old)."""
    return max(0, (now - since) // timedelta(days=1))


def mark(f: Finding, history: History, run: RunResult) -> Mark | None:
    """`f`'s mark; None when there is no history to tell."""
    if not history.available:
        return None
    since = history.since.get((f.check, f.fingerprint))
    if since is None:
        return Mark(True, None, None)
    return Mark(False, since, open_for(since, run.started_at))


def report_href(past: PastRun, directory: Path | None) -> str | None:
    """A link to `past`'s report.html: relative when both report folders share the report root,
    else a file: URI; None when that report is no longer on disk."""
    if past.report_dir is None:
        return None
    target = past.report_dir / "report.html"
    try:
        if not target.is_file():
            return None
    except OSError:
        return None
    if directory is not None and past.report_dir.parent.resolve() == directory.parent.resolve():
        return Path(os.path.relpath(target, directory)).as_posix()
    return target.resolve().as_uri()


def chart_runs(history: History, run: RunResult) -> list[PastRun]:
    """The runs the chart shows, oldest first, this one last: at most WINDOW in all."""
    this = PastRun(run.id, run.status, run.started_at, run.finished_at, run.report_dir)
    return [*reversed(history.runs[: WINDOW - 1]), this]


def chart_svg(history: History, run: RunResult) -> str:
    """An SVG bar per run (height: duration, colour: status), each with its own title for a tooltip
    and screen readers; the run of this report is outlined."""
    runs = chart_runs(history, run)
    longest = max((r.duration_s or 0.0 for r in runs), default=0.0) or 1.0
    width = len(runs) * (_BAR_W + _GAP)
    failed = sum(1 for r in runs if r.status == RunStatus.FAIL)
    title = f"The last {len(runs)} run(s) of {run.audit}: {failed} failed; bar height is the run's duration"
    bars = []
    for i, r in enumerate(runs):
        d = r.duration_s
        h = _MIN_H if not d else max(_MIN_H, round(d / longest * (_HEIGHT - _MIN_H)))
        took = f"{d:.1f} s" if d is not None else "unfinished"
        tip = f"{r.started_at:%Y-%m-%d %H:%M} UTC · {str(r.status).upper()} · {took} · run {r.id}"
        outline = ' stroke="#1d2433" stroke-width="2"' if r.id == run.id else ""
        bars.append(
            f'<rect class="bar {escape(str(r.status))}" x="{i * (_BAR_W + _GAP) + 1}" y="{_HEIGHT - h + 1}" '
            f'width="{_BAR_W}" height="{h}" fill="{COLOURS.get(r.status, "#8a94a6")}"{outline}>'
            f"<title>{escape(tip)}</title></rect>"
        )
    return (
        f'<svg class="runs-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="runs-chart-title" width="{width + 2}" height="{_HEIGHT + 2}" '
        f'viewBox="0 0 {width + 2} {_HEIGHT + 2}"><title id="runs-chart-title">{escape(title)}</title>'
        + "".join(bars)
        + "</svg>"
    )


def history_json(history: History, run: RunResult, directory: Path | None) -> dict[str, Any]:
    """report.json's `history`: the previous run, what resolved since it, the runs charted."""
    prev = history.previous
    return {
        "available": history.available,
        "note": history.note or None,
        "previous_run": prev.id if prev else None,
        "previous_report": report_href(prev, directory) if prev else None,
        "resolved": [
            {
                "check": r.check,
                "kind": r.kind,
                "severity": r.severity,
                "url": r.url,
                "message": r.message,
                "fingerprint": r.fingerprint,
                "known_since": r.since.isoformat(),
            }
            for r in history.resolved
        ],
        "runs": [
            {
                "id": r.id,
                "status": str(r.status),
                "started_at": r.started_at.isoformat(),
                "duration_s": round(r.duration_s, 3) if r.duration_s is not None else None,
            }
            for r in (chart_runs(history, run) if history.available else [])
        ],
    }

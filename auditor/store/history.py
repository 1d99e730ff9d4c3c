"""How an audit's findings have gone, read back for a run's report: new, known since when, resolved.

Read-only queries, a few per report (each bounded by the last `WINDOW` runs of the audit). A finding
is *known* since the oldest run of its unbroken streak: a run breaks the streak when the finding's
check completed there (pass, warn or fail) without reporting it; a run where that check was skipped,
errored or absent says nothing (as the alert policy counts it). A finding is *new* when no earlier run
of the audit is in its streak. A streak that reaches past the window is dated by the first run that
ever reported the finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from auditor.results import RunResult, RunStatus, Status

if TYPE_CHECKING:  # the queries import SQLAlchemy when they run: the data types need none of it
    from sqlalchemy.orm import Session, sessionmaker

# Runs of an audit that the report reads (and charts, with the run itself).
WINDOW = 30
# Fingerprints per IN (...) list: far below what SQLite and PostgreSQL accept as parameters.
_CHUNK = 500
# Check outcomes that say something about every finding the check could report.
_COMPLETED = frozenset({Status.PASS, Status.WARN, Status.FAIL})

Key = tuple[str, str]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PastRun:
    """One earlier run of the audit, as the report's chart and previous-run link show it."""

    id: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    report_dir: Path | None

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class Resolved:
    """A finding the check reported the last time it completed, and no longer reports."""

    check: str
    kind: str
    severity: str
    url: str
    message: str
    fingerprint: str
    since: datetime


@dataclass
class History:
    """What the store knows of a run's audit before the run: `available` is False without a store."""

    available: bool
    # The earlier runs, newest first (at most WINDOW).
    runs: list[PastRun] = field(default_factory=list)
    # (check, fingerprint) of this run's findings -> the start of their streak (absent: new).
    since: dict[Key, datetime] = field(default_factory=dict)
    resolved: list[Resolved] = field(default_factory=list)
    # Why there is no history, when there is none ("" otherwise).
    note: str = ""

    @property
    def previous(self) -> PastRun | None:
        return self.runs[0] if self.runs else None

    @classmethod
    def unavailable(cls, why: str) -> History:
        return cls(available=False, note=why)


class _Sessions(Protocol):
    _session: sessionmaker[Session]


class HistoryStore:
    """The Store's history queries (mixed into `auditor.store.Store`)."""

    def history_for(self: _Sessions, run: RunResult) -> History:
        """The history of `run`'s audit before `run`: its last runs, each finding's streak, what resolved."""
        with self._session() as s:
            return _history(s, run)


def _history(s: Session, run: RunResult) -> History:
    from sqlalchemy import select

    from auditor.store.models import CheckRow, FindingRow, RunRow

    rows = s.execute(
        select(RunRow.id, RunRow.status, RunRow.started_at, RunRow.finished_at, RunRow.report_dir)
        .where(
            RunRow.audit == run.audit,
            RunRow.id != run.id,
            RunRow.started_at <= run.started_at,
            # A run still going, or still waiting in the queue, has no outcome yet.
            RunRow.status.not_in([str(RunStatus.RUNNING), str(RunStatus.QUEUED)]),
        )
        .order_by(RunRow.started_at.desc(), RunRow.id.desc())
        .limit(WINDOW)
    )
    runs = [
        PastRun(rid, _status(status), started, finished, Path(folder) if folder else None)
        for rid, status, started, finished, folder in rows
    ]
    if not runs:
        return History(available=True, note=f"This is the first recorded run of {run.audit}.")
    ids = [r.id for r in runs]
    statuses: dict[tuple[str, str], str] = {
        (rid, name): status
        for rid, name, status in s.execute(
            select(CheckRow.run_id, CheckRow.name, CheckRow.status).where(CheckRow.run_id.in_(ids))
        )
    }
    current = {(f.check, f.fingerprint) for f in run.findings}
    gone = _gone(s, run, runs, statuses, current)
    seen: set[tuple[str, str, str]] = set()
    for chunk in _chunks(sorted({fp for _, fp in current} | {r.fingerprint for r in gone})):
        q = select(FindingRow.run_id, FindingRow.check, FindingRow.fingerprint).where(
            FindingRow.run_id.in_(ids), FindingRow.fingerprint.in_(chunk)
        )
        seen.update((rid, check, fp) for rid, check, fp in s.execute(q))
    since = {key: start for key in current if (start := _streak_start(key, runs, seen, statuses))}
    resolved_since = {
        (r.check, r.fingerprint): _streak_start((r.check, r.fingerprint), runs, seen, statuses) for r in gone
    }
    # A streak as old as the window may be older still: date it by the first run that reported it.
    oldest = runs[-1]
    if len(runs) == WINDOW:
        starts = {**since, **{k: v for k, v in resolved_since.items() if v}}
        longer = [key for key, start in starts.items() if start == oldest.started_at]
        for key, first in _first_seen(s, run.audit, longer, oldest.started_at):
            if key in since:
                since[key] = min(since[key], first)
            else:
                resolved_since[key] = first
    resolved = [
        replace(r, since=resolved_since.get((r.check, r.fingerprint)) or runs[0].started_at) for r in gone
    ]
    return History(available=True, runs=runs, since=since, resolved=resolved)


def _streak_start(
    key: Key, runs: Sequence[PastRun], seen: set[tuple[str, str, str]], statuses: dict[tuple[str, str], str]
) -> datetime | None:
    """The start of the oldest run in `key`'s unbroken streak among `runs` (newest first), or None."""
    check, fp = key
    start = None
    for r in runs:
        if (r.id, check, fp) in seen:
            start = r.started_at
        elif _completed(statuses.get((r.id, check))):
            break
    return start


def _first_seen(s: Session, audit: str, keys: list[Key], before: datetime) -> Iterator[tuple[Key, datetime]]:
    from sqlalchemy import func, select

    from auditor.store.models import FindingRow, RunRow

    wanted = set(keys)
    for chunk in _chunks(sorted({fp for _, fp in wanted})):
        q = (
            select(FindingRow.check, FindingRow.fingerprint, func.min(RunRow.started_at))
            .join(RunRow, RunRow.id == FindingRow.run_id)
            .where(RunRow.audit == audit, RunRow.started_at < before, FindingRow.fingerprint.in_(chunk))
            .group_by(FindingRow.check, FindingRow.fingerprint)
        )
        for check, fp, first in s.execute(q):
            if (check, fp) in wanted and first is not None:
                yield (check, fp), _aware(first)


def _gone(
    s: Session,
    run: RunResult,
    runs: Sequence[PastRun],
    statuses: dict[tuple[str, str], str],
    current: set[Key],
) -> list[Resolved]:
    """What this run's completed checks no longer report, of what each reported the last time it
    completed (a crawl that errored last night resolves nothing, and hides nothing)."""
    from sqlalchemy import select

    from auditor.store.models import FindingRow

    last: dict[str, str] = {}
    for c in run.checks:
        if c.derived_status() in _COMPLETED:
            done = next((r.id for r in runs if _completed(statuses.get((r.id, c.name)))), None)
            if done is not None:
                last[c.name] = done
    if not last:
        return []
    q = (
        select(FindingRow)
        .where(FindingRow.run_id.in_(set(last.values())), FindingRow.check.in_(last))
        .order_by(FindingRow.id)
    )
    return [
        Resolved(f.check, f.kind, f.severity, f.url, f.message, f.fingerprint, _EPOCH)
        for f in s.scalars(q)
        if last.get(f.check) == f.run_id and (f.check, f.fingerprint) not in current
    ]


def _completed(status: str | None) -> bool:
    try:
        return status is not None and Status(status) in _COMPLETED
    except ValueError:
        return False


def _status(value: str) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.ERROR


def _aware(d: datetime) -> datetime:
    # min() keeps the column's type (aware UTC); a driver that still hands back a naive time means UTC.
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]

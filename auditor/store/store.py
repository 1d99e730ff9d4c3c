"""The Store: where runs, checks, findings, received mail and alert incidents are written and read back."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Engine, create_engine, delete, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from auditor.containment import degraded, json_safe, safe_text
from auditor.errors import RunIdTaken, StoreError
from auditor.results import Artifact, CheckResult, Finding, RunResult, RunStatus, Severity, Status
from auditor.store.history import HistoryStore
from auditor.store.incidents import IncidentStatus, IncidentStore
from auditor.store.marks import MarkStore
from auditor.store.migrate import _wrap, is_current, upgrade
from auditor.store.models import (
    CheckRow,
    FindingRow,
    IncidentRow,
    MailMessageRow,
    MailRecipientRow,
    NotificationRow,
    RunRow,
)
from auditor.store.queue_models import ScheduleSlotRow, WorkerRow


@dataclass(frozen=True)
class RunSummary:
    """One line of run history: what `auditor runs` lists."""

    id: str
    audit: str
    site: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, int | float]
    # The worker process that ran it (`<celery nodename>/<pid>`), None for a run outside a queue.
    worker: str | None = None
    # When a producer put it in the queue, None for a run that never went through one.
    queued_at: datetime | None = None


@dataclass(frozen=True)
class Pruned:
    """What `Store.prune` deleted: a count per kind of row, and each deleted run's report folder."""

    counts: dict[str, int]
    reports: list[tuple[str, Path]]


@dataclass(frozen=True)
class StoredMail:
    """One email as the SMTP sink received it: the raw bytes, when, and who it was for."""

    id: int
    received_at: datetime
    envelope_sender: str
    recipients: tuple[str, ...]
    raw: bytes
    # Why the sink refused it (then `raw` is only its start); None for a message it accepted.
    refused: str | None = None


def process_start(pid: int) -> str | None:
    """A marker of when process `pid` started (Linux /proc), so a reused pid is not mistaken for it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counted after the parenthesised command name, which may hold spaces.
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, marker: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = process_start(pid)
    return marker is None or now is None or now == marker


class Store(IncidentStore, MarkStore, HistoryStore):
    """A connection to auditor's database. Open it with `Store.open(url)`."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)
        # The process a run started here belongs to, when it is not this one: the command a
        # `auditor.store.remote` process records for (its pid tells whether the run is still alive).
        self.owner_pid: int | None = None

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to the database at `url`, migrating it to the newest schema unless told not to."""
        if migrate and not is_current(url):
            upgrade(url)
        try:
            engine = create_engine(url)
            with engine.connect():
                pass
        except SQLAlchemyError as exc:
            raise _wrap(url, "open", exc) from exc
        return cls(url, engine)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    def mark_interrupted(self) -> list[str]:
        """Mark `interrupted` the runs left `running` on this host by a process that is gone.

        Only runs outside a queue: a run a queue worker claimed (its `worker` is set) is reaped by
        its worker's missing heartbeats (`auditor.queue.state.QueueState.reap`), never by pid, since
        its process may live on another machine that shares this host name; a `queued` run has no
        process yet and is never touched."""
        host = socket.gethostname()
        marked: list[str] = []
        with self._session.begin() as s:
            running = select(RunRow).where(
                RunRow.status == str(RunStatus.RUNNING), RunRow.hostname == host, RunRow.worker.is_(None)
            )
            for row in s.scalars(running):
                if row.pid is None or not _alive(row.pid, row.process_start):
                    row.status = str(RunStatus.INTERRUPTED)
                    marked.append(row.id)
        return marked

    def start_run(self, run: RunResult) -> None:
        """Record that `run` has started, with who runs it.

        A run recorded before it started (`queued` by a producer, or claimed by this very process:
        `QueueState.claim_run`) is that same row, updated; it keeps its worker and queue time. A run
        id another process has claimed or run is a StoreError: two processes never share a run."""
        pid = self.owner_pid or os.getpid()
        host = socket.gethostname()
        values: dict[str, Any] = {
            "audit": run.audit,
            "site": run.site,
            "base_url": run.base_url,
            "trigger": run.trigger,
            "status": str(RunStatus.RUNNING),
            "started_at": run.started_at,
            "pid": pid,
            "hostname": host,
            "process_start": process_start(pid),
            "report_dir": str(run.report_dir) if run.report_dir else None,
            "stats": {},
        }
        with self._session.begin() as s:
            row = s.get(RunRow, run.id, with_for_update=True)
            if row is None:
                s.add(RunRow(id=run.id, **values))
                return
            ours = row.status == RunStatus.QUEUED or (
                row.status == RunStatus.RUNNING and row.pid == pid and row.hostname == host
            )
            if not ours:
                by = (
                    f" by {row.worker or f'{row.hostname} pid {row.pid}'}"
                    if row.status == RunStatus.RUNNING
                    else ""
                )
                raise RunIdTaken(
                    f"run {run.id} is already recorded ({row.status}{by}); a run id is used once: "
                    "start the run again without --run-id, or with a new one"
                )
            for key, value in values.items():
                setattr(row, key, value)

    def record_findings(self, run_id: str, findings: list[Finding]) -> None:
        """Write `findings` now; one already stored (same check and fingerprint) is updated.

        When the batch cannot be written, each finding is tried alone, and one that still fails is
        stored without its evidence: a bad finding costs its evidence, never the others. Raises
        StoreError when the database itself fails, or after the rest is stored, naming what was not."""
        if not findings:
            return
        try:
            self._write_findings(run_id, findings)
            return
        except OperationalError as exc:
            raise _wrap(self.url, "record findings in", exc) from exc
        except Exception as exc:
            first: Exception = exc
        lost: list[str] = []
        for f in findings:
            try:
                self._write_findings(run_id, [f])
                continue
            except OperationalError as exc:
                raise _wrap(self.url, "record findings in", exc) from exc
            except Exception as exc:
                try:
                    bare = degraded(f, f.check, "", exc)
                    bare.fingerprint = f.fingerprint  # the same problem, the same row and incident
                    self._write_findings(run_id, [bare])
                    lost.append(f"{f.kind} {f.url!r}: stored without its evidence ({type(exc).__name__})")
                except Exception as again:
                    lost.append(f"{f.kind} {f.url!r}: not stored ({type(again).__name__}: {again})")
        if lost:
            raise StoreError(
                f"{len(lost)} of {len(findings)} finding(s) could not be stored whole "
                f"({type(first).__name__}: {first}): " + "; ".join(safe_text(x) for x in lost[:5])
            )

    def _write_findings(self, run_id: str, findings: list[Finding]) -> None:
        with self._session.begin() as s:
            keys = {(f.check, f.fingerprint) for f in findings}
            existing = {
                (r.check, r.fingerprint): r
                for r in s.scalars(
                    select(FindingRow).where(
                        FindingRow.run_id == run_id,
                        FindingRow.fingerprint.in_({fp for _, fp in keys}),
                    )
                )
            }
            for f in findings:
                row = existing.get((f.check, f.fingerprint))
                if row is None:
                    row = FindingRow(run_id=run_id, check=f.check, fingerprint=f.fingerprint)
                    s.add(row)
                    existing[(f.check, f.fingerprint)] = row
                # Site text can hold what no database column takes (lone surrogates, NUL).
                row.kind = safe_text(f.kind)
                row.severity = str(f.severity)
                row.url = safe_text(f.url)
                row.source = safe_text(f.source) if f.source is not None else None
                row.sources = [safe_text(x) for x in f.sources]
                row.element = safe_text(f.element) if f.element is not None else None
                row.message = safe_text(f.message)
                row.evidence = json_safe(dict(f.evidence))

    def finish_check(self, run_id: str, result: CheckResult) -> None:
        """Record the outcome of one check (inserted, or updated if recorded before)."""
        with self._session.begin() as s:
            row = s.scalar(select(CheckRow).where(CheckRow.run_id == run_id, CheckRow.name == result.name))
            if row is None:
                row = CheckRow(run_id=run_id, name=result.name)
                s.add(row)
            row.kind = result.kind
            row.status = str(result.derived_status())
            row.message = safe_text(result.message) if result.message is not None else None
            row.started_at = result.started_at
            row.finished_at = result.finished_at
            row.duration_s = result.duration_s
            row.stats = json_safe(dict(result.stats))
            row.outputs = json_safe(dict(result.outputs))
            row.artifacts = [{"name": a.name, "path": str(a.path), "kind": a.kind} for a in result.artifacts]

    def finish_run(self, run: RunResult) -> None:
        """Record how `run` ended: its status, end time and totals."""
        with self._session.begin() as s:
            row = s.get(RunRow, run.id)
            if row is None:
                raise StoreError(f"run {run.id} was never started in the store")
            row.status = str(run.status)
            row.finished_at = run.finished_at
            stats = run.stats()
            if run.internal_errors:
                # The count shows in `auditor runs`; what they were is in the run's report.json.
                stats["internal_errors"] = len(run.internal_errors)
            row.stats = json_safe(stats)
            row.report_dir = str(run.report_dir) if run.report_dir else row.report_dir

    def prune(self, before: datetime) -> Pruned:
        """Delete what is older than `before`: finished runs with their checks and findings, sent
        notifications, received mail, resolved incidents, past schedule slots and the rows of worker
        processes gone since. Open incidents, running and queued runs and live workers stay, however
        old: they are the present. Returns how many of each were deleted, and the report
        folders of the deleted runs (files are not the store's to delete)."""
        with self._session.begin() as s:
            old_runs = select(RunRow.id, RunRow.report_dir).where(
                RunRow.started_at < before, RunRow.status.not_in([RunStatus.RUNNING, RunStatus.QUEUED])
            )
            found = [(run_id, folder) for run_id, folder in s.execute(old_runs)]
            ids = [run_id for run_id, _ in found]
            reports = [(run_id, Path(folder)) for run_id, folder in found if folder]
            counts = {"runs": len(ids), "findings": 0, "checks": 0}
            for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                counts["findings"] += _deleted(s, delete(FindingRow).where(FindingRow.run_id.in_(chunk)))
                counts["checks"] += _deleted(s, delete(CheckRow).where(CheckRow.run_id.in_(chunk)))
                s.execute(delete(RunRow).where(RunRow.id.in_(chunk)))
            counts["notifications"] = _deleted(
                s, delete(NotificationRow).where(NotificationRow.sent_at < before)
            )
            old_mail = select(MailMessageRow.id).where(MailMessageRow.received_at < before)
            s.execute(delete(MailRecipientRow).where(MailRecipientRow.message_id.in_(old_mail)))
            counts["mail"] = _deleted(s, delete(MailMessageRow).where(MailMessageRow.received_at < before))
            resolved = (IncidentRow.status == IncidentStatus.RESOLVED) & (IncidentRow.resolved_at < before)
            counts["incidents"] = _deleted(s, delete(IncidentRow).where(resolved))
            # The queue's bookkeeping: past slots, and worker processes gone since (live ones stay).
            counts["schedule slots"] = _deleted(
                s, delete(ScheduleSlotRow).where(ScheduleSlotRow.slot_at < before)
            )
            gone = WorkerRow.state.in_(["stopped", "lost"]) & (WorkerRow.last_seen_at < before)
            counts["workers"] = _deleted(s, delete(WorkerRow).where(gone))
        return Pruned(counts, reports)

    def recent_runs(self, limit: int = 20, audit: str | None = None) -> list[RunSummary]:
        """The newest runs first, optionally of one audit only."""
        q = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
        if audit is not None:
            q = q.where(RunRow.audit == audit)
        with self._session() as s:
            return [
                RunSummary(
                    r.id,
                    r.audit,
                    r.site,
                    RunStatus(r.status),
                    r.started_at,
                    r.finished_at,
                    r.stats or {},
                    worker=r.worker,
                    queued_at=r.queued_at,
                )
                for r in s.scalars(q)
            ]

    def run_statuses(self, run_ids: Sequence[str]) -> dict[str, RunStatus]:
        """The status of each of `run_ids` that is recorded (one query; nothing else is loaded)."""
        if not run_ids:
            return {}
        q = select(RunRow.id, RunRow.status).where(RunRow.id.in_(list(run_ids)))
        with self._session() as s:
            return {rid: RunStatus(status) for rid, status in s.execute(q)}

    def run_ids_starting(self, prefix: str, limit: int = 11) -> list[str]:
        """The ids of recorded runs that start with `prefix`, newest first (`auditor show 2026`)."""
        q = select(RunRow.id).where(RunRow.id.startswith(prefix, autoescape=True))
        with self._session() as s:
            return list(s.scalars(q.order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)))

    def load_run(self, run_id: str) -> RunResult | None:
        """Rebuild a run with its checks and findings from the database, or None if unknown."""
        with self._session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                return None
            checks = {
                c.name: CheckResult(
                    status=Status(c.status),
                    outputs=c.outputs,
                    stats=c.stats,
                    message=c.message,
                    name=c.name,
                    kind=c.kind,
                    started_at=c.started_at,
                    finished_at=c.finished_at,
                    duration_s=c.duration_s,
                    artifacts=[
                        Artifact(a["name"], Path(a["path"]), a.get("kind", "file")) for a in c.artifacts or []
                    ],
                )
                for c in s.scalars(select(CheckRow).where(CheckRow.run_id == run_id).order_by(CheckRow.id))
            }
            for f in s.scalars(select(FindingRow).where(FindingRow.run_id == run_id).order_by(FindingRow.id)):
                finding = Finding(
                    kind=f.kind,
                    severity=Severity(f.severity),
                    url=f.url,
                    message=f.message,
                    source=f.source,
                    element=f.element,
                    evidence=f.evidence,
                    sources=list(f.sources),
                    check=f.check,
                    fingerprint=f.fingerprint,
                )
                # Findings of a check that never finished (a killed run) still belong somewhere.
                check = checks.setdefault(f.check, CheckResult(name=f.check, status=Status.ERROR))
                check.findings.append(finding)
            return RunResult(
                id=row.id,
                audit=row.audit,
                site=row.site,
                base_url=row.base_url,
                trigger=row.trigger,
                started_at=row.started_at,
                status=RunStatus(row.status),
                finished_at=row.finished_at,
                checks=list(checks.values()),
                report_dir=Path(row.report_dir) if row.report_dir else None,
            )

    def add_mail(
        self,
        raw: bytes,
        *,
        envelope_sender: str,
        recipients: Iterable[str],
        received_at: datetime,
        refused: str | None = None,
    ) -> int:
        """Keep one received email (or one the sink `refused`, with why); `recipients` are stored
        lower-cased, each once. Returns its id."""
        addresses = dict.fromkeys(a.strip().lower() for a in recipients if a.strip())
        with self._session.begin() as s:
            row = MailMessageRow(
                received_at=received_at, envelope_sender=envelope_sender, raw=raw, refused=refused
            )
            s.add(row)
            s.flush()
            s.add_all(MailRecipientRow(message_id=row.id, address=a) for a in addresses)
            return row.id

    def last_mail_id(self) -> int:
        """The id of the newest stored email, 0 when there is none: a mailbox cursor.

        Ids only grow. (On PostgreSQL an id is drawn when a message is inserted, so a message still
        being written at the very moment the cursor is taken could commit below it; the cursor is
        taken before the purchase, so that message cannot be the purchase's.)
        """
        with self._session() as s:
            return s.scalar(select(func.max(MailMessageRow.id))) or 0

    def mail_for(self, recipient: str, after_id: int = 0) -> list[StoredMail]:
        """The stored emails with id above `after_id` sent to exactly `recipient` (any case), oldest first."""
        ids = select(MailRecipientRow.message_id).where(MailRecipientRow.address == recipient.strip().lower())
        q = (
            select(MailMessageRow)
            .where(MailMessageRow.id > after_id, MailMessageRow.id.in_(ids))
            .order_by(MailMessageRow.id)
        )
        with self._session() as s:
            rows = list(s.scalars(q))
            recipients: dict[int, list[str]] = {r.id: [] for r in rows}
            if rows:
                for rr in s.scalars(
                    select(MailRecipientRow).where(MailRecipientRow.message_id.in_(recipients))
                ):
                    recipients[rr.message_id].append(rr.address)
            return [
                StoredMail(
                    r.id, r.received_at, r.envelope_sender, tuple(sorted(recipients[r.id])), r.raw, r.refused
                )
                for r in rows
            ]


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE and say how many rows it removed."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount)

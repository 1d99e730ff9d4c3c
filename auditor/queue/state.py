"""The queue's state in the shared store: queued runs, their claims, schedule slots, worker heartbeats.

Everything that must happen at most once is a single SQL statement the database makes atomic, on
SQLite (one writer at a time) and on PostgreSQL (row locks; a second UPDATE waits, then re-reads
the row and no longer matches) alike:

- `claim_run`: ``UPDATE runs SET status='running' ... WHERE id=:id AND status='queued'``: of any
  number of deliveries of one task, exactly one finds the row queued; the others are duplicates.
- `claim_slot`: an INSERT on the primary key (audit, site, slot_at): of any number of schedulers
  firing the same slot, exactly one inserts.
- `reap`: a worker silent for `stale_after_s` is marked `lost` and its `running` runs `interrupted`
  in one transaction; a worker that keeps beating is never touched, however long its run.

Synchronous SQLAlchemy, like the Store: callers in async code wrap the calls in asyncio.to_thread.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from auditor.containment import safe_text
from auditor.errors import RunIdTaken, StoreError
from auditor.results import RunStatus
from auditor.store.migrate import _wrap
from auditor.store.models import RunRow
from auditor.store.queue_models import ScheduleSlotRow, WorkerRow
from auditor.store.store import RunSummary, Store, process_start

WORKER_STATES = frozenset({"main", "idle", "running", "stopping", "stopped", "lost"})
SLOT_STATES = frozenset({"claimed", "enqueued", "missed"})
# A worker in one of these is gone: its running runs are reaped.
_GONE = ("stopped", "lost")
# The longest reason a missed slot keeps (a broker's error can be a page of traceback text).
_DETAIL_MAX = 2000


@dataclass(frozen=True)
class Slot:
    """One scheduled fire of one audit on one site, and what became of it."""

    audit: str
    site: str
    slot_at: datetime
    scheduler: str
    state: str
    run_id: str | None
    claimed_at: datetime
    updated_at: datetime
    detail: str | None


@dataclass(frozen=True)
class WorkerInfo:
    """One worker process as of its last heartbeat."""

    name: str
    hostname: str
    pid: int
    state: str
    started_at: datetime
    last_seen_at: datetime
    run_id: str | None
    audit: str | None
    site: str | None


def slot_time(slot_at: datetime) -> datetime:
    """`slot_at` as every scheduler computes it: UTC, seconds and microseconds zeroed.

    Two schedulers whose clocks or fire callbacks differ by a few seconds still name the same slot."""
    if slot_at.tzinfo is None:
        raise ValueError("naive datetime given as a slot time; use an aware UTC datetime")
    return slot_at.astimezone(UTC).replace(second=0, microsecond=0)


def _now() -> datetime:
    return datetime.now(UTC)


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


class QueueState:
    """The queue's rows in `store`'s database: `QueueState(store)`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.url = store.url
        self._session = sessionmaker(store.engine, expire_on_commit=False)
        self._dialect = store.engine.dialect.name

    @contextmanager
    def _tx(self, action: str) -> Iterator[Session]:
        """One transaction; a database that fails is a StoreError saying what we were doing."""
        try:
            with self._session.begin() as s:
                yield s
        except OperationalError as exc:
            raise _wrap(self.url, action, exc) from exc

    # -- runs ---------------------------------------------------------------------------------

    def record_queued(
        self,
        run_id: str,
        *,
        audit: str,
        site: str,
        base_url: str,
        trigger: str,
        queued_at: datetime | None = None,
    ) -> None:
        """Record a run a producer is about to publish: status `queued`, no process yet.

        `started_at` holds `queued_at` until a worker claims it (the column is the runs' order
        everywhere, and a queued run sorts where it was asked for)."""
        at = queued_at or _now()
        row = RunRow(
            id=run_id,
            audit=audit,
            site=site,
            base_url=safe_text(base_url),
            trigger=trigger,
            status=str(RunStatus.QUEUED),
            started_at=at,
            queued_at=at,
            stats={},
        )
        try:
            with self._tx("record a queued run in") as s:
                s.add(row)
        except IntegrityError as exc:
            raise RunIdTaken(f"run {run_id} is already recorded; a queued run needs a new run id") from exc

    def claim_run(self, run_id: str, *, worker: str) -> bool:
        """Take the queued run `run_id` for this process; False when it is not queued (any more).

        False is a duplicate delivery (a redelivery, a retry, a second copy) or a run that was
        forgotten: the caller runs nothing."""
        pid = os.getpid()
        statement = (
            update(RunRow)
            .where(RunRow.id == run_id, RunRow.status == str(RunStatus.QUEUED))
            .values(
                status=str(RunStatus.RUNNING),
                worker=worker,
                pid=pid,
                hostname=socket.gethostname(),
                process_start=process_start(pid),
                started_at=_now(),
            )
        )
        with self._tx("claim a queued run in") as s:
            return _count(s.execute(statement)) == 1

    def forget_queued(self, run_id: str) -> None:
        """Remove the queued row of a run whose task could not be published (nothing will run it).

        A run already claimed is left alone: it is a worker's now."""
        with self._tx("forget a queued run in") as s:
            s.execute(delete(RunRow).where(RunRow.id == run_id, RunRow.status == str(RunStatus.QUEUED)))

    def queued_runs(self, limit: int = 50) -> list[RunSummary]:
        """The runs waiting for a worker, the longest-waiting first."""
        q = (
            select(RunRow)
            .where(RunRow.status == str(RunStatus.QUEUED))
            .order_by(RunRow.queued_at, RunRow.id)
            .limit(limit)
        )
        with self._tx("read the queued runs in") as s:
            return [
                RunSummary(
                    r.id,
                    r.audit,
                    r.site,
                    RunStatus.QUEUED,
                    r.started_at,
                    r.finished_at,
                    r.stats or {},
                    worker=r.worker,
                    queued_at=r.queued_at,
                )
                for r in s.scalars(q)
            ]

    # -- schedule slots -----------------------------------------------------------------------

    def claim_slot(self, audit: str, site: str, slot_at: datetime, *, scheduler: str) -> bool:
        """Take the slot (audit, site, slot_at) for `scheduler`: True for the first scheduler that
        asks, False for every other (then `slot(...)` says who has it)."""
        now = _now()
        values = {
            "audit": audit,
            "site": site,
            "slot_at": slot_time(slot_at),
            "scheduler": scheduler,
            "state": "claimed",
            "run_id": None,
            "claimed_at": now,
            "updated_at": now,
        }
        # ON CONFLICT DO NOTHING: a lost race is an ordinary answer, not an error in the server's log.
        # RETURNING says whether this INSERT made the row (an ORM session's rowcount does not).
        table = cast(Table, ScheduleSlotRow.__table__)
        if self._dialect in ("postgresql", "sqlite"):
            statement: Any = _insert_of(self._dialect)(table).values(values).on_conflict_do_nothing()
        else:
            statement = insert(table).values(values)
        try:
            with self._tx("claim a schedule slot in") as s:
                return s.execute(statement.returning(table.c.audit)).first() is not None
        except IntegrityError:
            return False

    def slot(self, audit: str, site: str, slot_at: datetime) -> Slot | None:
        """The slot's row, or None when no scheduler claimed it."""
        with self._tx("read a schedule slot in") as s:
            row = s.get(ScheduleSlotRow, (audit, site, slot_time(slot_at)))
            return _slot(row) if row is not None else None

    def slot_enqueued(self, audit: str, site: str, slot_at: datetime, run_id: str) -> None:
        """The claimed slot's run was published: `run_id`."""
        self._set_slot(audit, site, slot_at, state="enqueued", run_id=run_id)

    def slot_missed(self, audit: str, site: str, slot_at: datetime, reason: str) -> None:
        """The claimed slot could not be enqueued before its grace ran out, because of `reason`."""
        self._set_slot(audit, site, slot_at, state="missed", detail=safe_text(reason)[:_DETAIL_MAX])

    def _set_slot(self, audit: str, site: str, slot_at: datetime, **values: Any) -> None:
        key = slot_time(slot_at)
        statement = (
            update(ScheduleSlotRow)
            .where(
                ScheduleSlotRow.audit == audit, ScheduleSlotRow.site == site, ScheduleSlotRow.slot_at == key
            )
            .values(updated_at=_now(), **values)
        )
        with self._tx("record a schedule slot in") as s:
            if _count(s.execute(statement)) == 0:
                raise StoreError(
                    f"the slot of audit {audit!r} on site {site!r} at {key.isoformat()} was never claimed; "
                    "claim_slot() must come first"
                )

    def missed_slots(self, since: datetime | None = None) -> list[Slot]:
        """The slots no run was enqueued for, newest first (since `since`, when given)."""
        q = select(ScheduleSlotRow).where(ScheduleSlotRow.state == "missed")
        if since is not None:
            q = q.where(ScheduleSlotRow.slot_at >= since)
        q = q.order_by(ScheduleSlotRow.slot_at.desc(), ScheduleSlotRow.audit, ScheduleSlotRow.site)
        with self._tx("read the missed slots in") as s:
            return [_slot(r) for r in s.scalars(q)]

    # -- workers ------------------------------------------------------------------------------

    def worker_beat(
        self,
        name: str,
        *,
        state: str,
        run_id: str | None = None,
        audit: str | None = None,
        site: str | None = None,
    ) -> None:
        """Record that worker process `name` (this process) is alive and what it does now.

        Call it from the very process that claims runs as `name` (a daemon thread of it): the row
        records this process's pid and start marker, and a run whose claimer is not the process
        beating under its worker's name is reaped (the name's process died and another took it).
        The first beat creates the row (with when it started); later ones update it. A worker
        marked `lost` that beats again is alive again (its reaped run stays interrupted)."""
        if state not in WORKER_STATES:
            raise ValueError(f"unknown worker state {state!r}; one of {', '.join(sorted(WORKER_STATES))}")
        now = _now()
        pid = os.getpid()
        changing = {
            "hostname": socket.gethostname(),
            "pid": pid,
            "process_start": process_start(pid),
            "last_seen_at": now,
            "state": state,
            "run_id": run_id,
            "audit": audit,
            "site": site,
        }
        with self._tx("record a worker heartbeat in") as s:
            if self._dialect in ("postgresql", "sqlite"):
                statement = _insert_of(self._dialect)(WorkerRow).values(name=name, started_at=now, **changing)
                s.execute(statement.on_conflict_do_update(index_elements=["name"], set_=changing))
                return
            if _count(s.execute(update(WorkerRow).where(WorkerRow.name == name).values(**changing))) == 0:
                s.add(WorkerRow(name=name, started_at=now, **changing))

    def worker_stopped(self, name: str) -> None:
        """Worker process `name` exited cleanly: it runs nothing and is not lost."""
        statement = (
            update(WorkerRow)
            .where(WorkerRow.name == name)
            .values(state="stopped", last_seen_at=_now(), run_id=None, audit=None, site=None)
        )
        with self._tx("record a worker's stop in") as s:
            s.execute(statement)

    def workers(self, live_within_s: float | None = None) -> list[WorkerInfo]:
        """Every worker row, by name; with `live_within_s`, only the live ones: neither stopped nor
        lost, and beaten within that many seconds."""
        q = select(WorkerRow).order_by(WorkerRow.name)
        if live_within_s is not None:
            q = q.where(
                WorkerRow.state.not_in(_GONE),
                WorkerRow.last_seen_at >= _now() - timedelta(seconds=live_within_s),
            )
        with self._tx("read the workers in") as s:
            return [_worker(r) for r in s.scalars(q)]

    def reap(self, stale_after_s: float, now: datetime | None = None) -> list[str]:
        """Mark `lost` every worker silent for `stale_after_s`, and `interrupted` every run still
        `running` on a worker that is gone (lost or stopped), or whose name another process now
        beats under (a restarted container's worker reusing the pids). Returns those runs' ids.

        A run whose worker has no row at all (it claimed the run and died before its first beat) is
        reaped once it started `stale_after_s` ago. A queued run, a run without a worker (the
        embedded scheduler's, handled by Store.mark_interrupted) and a live worker's run are never
        touched. Any number of processes may reap at once: each row changes once."""
        now = now or _now()
        cutoff = now - timedelta(seconds=stale_after_s)
        stale = (
            update(WorkerRow)
            .where(WorkerRow.last_seen_at < cutoff, WorkerRow.state.not_in(_GONE))
            .values(state="lost")
        )
        w = aliased(WorkerRow)
        # The process beating under the run's worker name is another one than the claimer.
        taken_over = (
            w.process_start.is_not(None)
            & RunRow.process_start.is_not(None)
            & or_(
                w.hostname.is_distinct_from(RunRow.hostname),
                w.pid.is_distinct_from(RunRow.pid),
                w.process_start != RunRow.process_start,
            )
        )
        gone = exists().where(w.name == RunRow.worker, or_(w.state.in_(_GONE), taken_over))
        known = exists().where(w.name == RunRow.worker)
        orphaned = (
            select(RunRow.id)
            .where(
                RunRow.status == str(RunStatus.RUNNING),
                RunRow.worker.is_not(None),
                or_(gone, ~known & (RunRow.started_at < cutoff)),
            )
            .order_by(RunRow.started_at, RunRow.id)
        )
        with self._tx("reap lost workers in") as s:
            s.execute(stale)
            if self._dialect == "postgresql":
                orphaned = orphaned.with_for_update(skip_locked=True)
            ids = list(s.scalars(orphaned))
            if ids:
                s.execute(
                    update(RunRow)
                    .where(RunRow.id.in_(ids), RunRow.status == str(RunStatus.RUNNING))
                    .values(status=str(RunStatus.INTERRUPTED), finished_at=now)
                )
            return ids


def _slot(r: ScheduleSlotRow) -> Slot:
    return Slot(
        r.audit, r.site, r.slot_at, r.scheduler, r.state, r.run_id, r.claimed_at, r.updated_at, r.detail
    )


def _worker(r: WorkerRow) -> WorkerInfo:
    return WorkerInfo(
        r.name, r.hostname, r.pid, r.state, r.started_at, r.last_seen_at, r.run_id, r.audit, r.site
    )


def _insert_of(dialect: str) -> Any:
    """The INSERT ... ON CONFLICT of `dialect` ("postgresql" or "sqlite"). PostgreSQL's dialect
    (about 30 ms of imports) loads only for a PostgreSQL database: `auditor runs` on SQLite reads
    the missed slots without it."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert

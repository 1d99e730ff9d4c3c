"""Incidents and notifications in the store: the alert state that must survive a restart.

An incident is one problem (a finding fingerprint of one check of one audit on one site) from the first run
that saw it to the run that saw it fixed. Keeping it in the database, not in memory, is what lets a
restarted scheduler remember that it already paged someone (Gatus and Healthchecks learned this).
The decisions live in `auditor.alerts.policy`; this module only reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from auditor.results import RunStatus
from auditor.store.models import AlertCursorRow, IncidentRow, NotificationRow, RunRow

# Runs whose outcome the alert policy never sees (see IncidentStore.apply_run).
_NO_OUTCOME = frozenset({str(RunStatus.QUEUED), str(RunStatus.INTERRUPTED)})


class IncidentStatus(StrEnum):
    """`pending`: failing, not yet for as many runs as the policy wants; `open`: alertable;
    `resolved`: passed as many runs in a row as the policy wants."""

    PENDING = "pending"
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    """One problem's alert state. `id` is None until the store has saved it."""

    audit: str
    check: str
    fingerprint: str
    kind: str
    severity: str
    url: str
    message: str
    step: str | None
    status: IncidentStatus
    first_seen_at: datetime
    last_seen_at: datetime
    first_seen_run: str
    last_seen_run: str
    consecutive_failures: int = 1
    consecutive_passes: int = 0
    opened_at: datetime | None = None
    notified_at: datetime | None = None
    last_reminded_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_notified_at: datetime | None = None
    # The site the audit ran against: a template audit's sites each have their own incidents.
    site: str = ""
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What identifies the problem across runs: audit, site, check and finding fingerprint."""
        return (self.audit, self.site, self.check, self.fingerprint)


@dataclass(frozen=True)
class Notification:
    """One attempt to send one message to one channel: `ok`, or the `error` the channel gave."""

    run_id: str
    audit: str
    channel: str
    event: str
    incident_ids: tuple[int, ...]
    title: str
    ok: bool
    error: str | None
    sent_at: datetime
    id: int | None = None


_INCIDENT_FIELDS = [f.name for f in fields(Incident) if f.name not in ("id", "status")]


def _incident(row: IncidentRow) -> Incident:
    values = {name: getattr(row, name) for name in _INCIDENT_FIELDS}
    return Incident(**values, status=IncidentStatus(row.status), id=row.id)


def _notification(row: NotificationRow) -> Notification:
    return Notification(
        run_id=row.run_id,
        audit=row.audit,
        channel=row.channel,
        event=row.event,
        incident_ids=tuple(row.incident_ids),
        title=row.title,
        ok=row.ok,
        error=row.error,
        sent_at=row.sent_at,
        id=row.id,
    )


class IncidentStore:
    """The incident and notification methods of `auditor.store.Store`."""

    _session: sessionmaker[Session]

    def incidents_to_process(self, audit: str, site: str = "") -> list[Incident]:
        """What the next run of `audit` on `site` may change: its pending and open incidents, and the
        resolved ones whose resolved message is still owed (they were resolved during maintenance)."""
        with self._session() as s:
            return _unsettled(s, audit, site)

    def save_incidents(self, incidents: Iterable[Incident]) -> list[Incident]:
        """Insert the new incidents (id None) and update the others; returns them all with their ids."""
        with self._session.begin() as s:
            return _save(s, list(incidents))

    def apply_run(
        self,
        audit: str,
        run_id: str,
        run_started_at: datetime,
        decide: Callable[[list[Incident]], Sequence[Incident]],
        *,
        now: datetime,
        site: str = "",
    ) -> list[Incident] | None:
        """Bring the incidents of `audit` on `site` up to date with one run, as one transaction that
        holds their lock: `decide` gets `incidents_to_process(audit, site)` and returns the incidents
        to save. Each (audit, site) has its own lock and cursor: a template audit's sites never block
        or skip each other's runs.

        Returns them saved, with their ids, in `decide`'s order; or None, without calling `decide`,
        when this run was applied already or a later run of the audit was (a run applied twice
        would count its failures twice; an older one would undo what a newer one decided), or when
        the stored run is `queued` or `interrupted`: a run that has not run, or was cut short (a
        stop, a killed worker), says nothing about the site and never alerts; the next run does.
        """
        with self._session.begin() as s:
            status = s.scalar(select(RunRow.status).where(RunRow.id == run_id))
            if status in _NO_OUTCOME:
                return None
            cursor = _lock_cursor(s, audit, site)
            if cursor.run_id == run_id or (
                cursor.run_started_at is not None and run_started_at < cursor.run_started_at
            ):
                return None
            saved = _save(s, list(decide(_unsettled(s, audit, site))))
            cursor.run_id, cursor.run_started_at, cursor.processed_at = run_id, run_started_at, now
            return saved

    def list_incidents(
        self,
        *,
        audit: str | None = None,
        site: str | None = None,
        statuses: Sequence[IncidentStatus] = (IncidentStatus.OPEN,),
        limit: int | None = None,
    ) -> list[Incident]:
        """Incidents in `statuses` (open ones by default), the longest-standing first."""
        q = select(IncidentRow).where(IncidentRow.status.in_([str(s) for s in statuses]))
        if audit is not None:
            q = q.where(IncidentRow.audit == audit)
        if site is not None:
            q = q.where(IncidentRow.site == site)
        q = q.order_by(IncidentRow.first_seen_at, IncidentRow.id)
        if limit is not None:
            q = q.limit(limit)
        with self._session() as s:
            return [_incident(r) for r in s.scalars(q)]

    def record_notifications(self, notifications: Iterable[Notification]) -> list[Notification]:
        """Keep every attempt to send an alert; returns them with their ids."""
        rows: list[NotificationRow] = []
        with self._session.begin() as s:
            for n in notifications:
                row = NotificationRow(
                    run_id=n.run_id,
                    audit=n.audit,
                    channel=n.channel,
                    event=n.event,
                    incident_ids=list(n.incident_ids),
                    title=n.title,
                    ok=n.ok,
                    error=n.error,
                    sent_at=n.sent_at,
                )
                s.add(row)
                rows.append(row)
            s.flush()
            return [_notification(r) for r in rows]

    def notifications(
        self, *, run_id: str | None = None, audit: str | None = None, limit: int = 100
    ) -> list[Notification]:
        """Recorded notification attempts, oldest first (the last `limit` of them)."""
        q = select(NotificationRow)
        if run_id is not None:
            q = q.where(NotificationRow.run_id == run_id)
        if audit is not None:
            q = q.where(NotificationRow.audit == audit)
        q = q.order_by(NotificationRow.sent_at.desc(), NotificationRow.id.desc()).limit(limit)
        with self._session() as s:
            return [_notification(r) for r in reversed(list(s.scalars(q)))]


def _unsettled(s: Session, audit: str, site: str) -> list[Incident]:
    owed = and_(
        IncidentRow.status == IncidentStatus.RESOLVED,
        IncidentRow.notified_at.is_not(None),
        IncidentRow.resolved_notified_at.is_(None),
    )
    active = IncidentRow.status.in_([IncidentStatus.PENDING, IncidentStatus.OPEN])
    q = (
        select(IncidentRow)
        .where(IncidentRow.audit == audit, IncidentRow.site == site, or_(active, owed))
        .order_by(IncidentRow.id)
    )
    return [_incident(r) for r in s.scalars(q)]


def _save(s: Session, todo: list[Incident]) -> list[Incident]:
    ids = [i.id for i in todo if i.id is not None]
    rows = {r.id: r for r in s.scalars(select(IncidentRow).where(IncidentRow.id.in_(ids)))} if ids else {}
    saved: list[tuple[Incident, IncidentRow]] = []
    for incident in todo:
        row = rows.get(incident.id) if incident.id is not None else None
        if row is None:
            row = IncidentRow()
            s.add(row)
        for name in _INCIDENT_FIELDS:
            setattr(row, name, getattr(incident, name))
        row.status = str(incident.status)
        saved.append((incident, row))
    s.flush()
    return [replace(incident, id=row.id) for incident, row in saved]


def _lock_cursor(s: Session, audit: str, site: str) -> AlertCursorRow:
    """The (audit, site)'s cursor row, created if missing and locked until the transaction ends.

    The insert comes first on purpose: on SQLite it takes the database's write lock before anything
    is read (a second writer waits for it, then reads what the first one saved); on PostgreSQL the
    row lock of `FOR UPDATE` makes the second transaction wait, and it then reads the committed rows.
    """
    dialect = s.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        # Imported here: a SQLite run should not pay for loading the PostgreSQL dialect.
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            s.execute(sqlite_insert(AlertCursorRow).values(audit=audit, site=site).on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            s.execute(pg_insert(AlertCursorRow).values(audit=audit, site=site).on_conflict_do_nothing())
    elif s.get(AlertCursorRow, (audit, site)) is None:
        try:
            with s.begin_nested():
                s.add(AlertCursorRow(audit=audit, site=site))
        except IntegrityError:
            pass  # another process made it first; the lock below waits for it
    q = (
        select(AlertCursorRow)
        .where(AlertCursorRow.audit == audit, AlertCursorRow.site == site)
        .with_for_update()
    )
    return s.scalars(q.execution_options(populate_existing=True)).one()

"""The tables of runs, check results, findings, received mail, incidents and notifications (SQLAlchemy 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class _JSON(TypeDecorator[Any]):
    """JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.

    A decorator rather than `JSON().with_variant(JSONB(), "postgresql")`: the variant needs the
    PostgreSQL dialect imported with the models, which costs every SQLite run (`auditor crawl`
    on a laptop) about 40 ms of start-up; here it is loaded only by a PostgreSQL connection."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JSONType = _JSON()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every auditor table."""


class RunRow(Base):
    """One audit run, written when it starts and updated when it ends."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_audit_started_at", "audit", "started_at"),
        Index("ix_runs_started_at", "started_at"),
        Index("ix_runs_status", "status"),
        # The dashboard (migration 0010): the strip, a site's history and run lists by site; each
        # audit's last run and failing streak by site and audit.
        Index("ix_runs_site_started_at", "site", "started_at"),
        Index("ix_runs_site_audit_started_at", "site", "audit", "started_at"),
        Index("ix_runs_site_audit_status_started_at", "site", "audit", "status", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    audit: Mapped[str] = mapped_column(String(200))
    site: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who ran it, so a later process can tell a live run from one whose process died.
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    process_start: Mapped[str | None] = mapped_column(String(64))
    report_dir: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Queued runs (migration 0011): the worker process that claimed it (`<celery nodename>/<pid>`),
    # and when a producer put it in the queue. NULL for a run that never went through a queue.
    worker: Mapped[str | None] = mapped_column(String(255))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CheckRow(Base):
    """The result of one check in one run."""

    __tablename__ = "check_results"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_check_results_run_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # [{"name", "path", "kind"}]: the screenshot, trace, page HTML... in the run's report folder.
    artifacts: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType, default=list)


class FindingRow(Base):
    """One finding of one check in one run; the same problem again updates this row."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("run_id", "check", "fingerprint", name="uq_findings_run_id_check_fingerprint"),
        # Incident history looks findings up by fingerprint across runs.
        Index("ix_findings_fingerprint", "fingerprint"),
        # A run's findings page by page (the dashboard, migration 0010).
        Index("ix_findings_run_id_id", "run_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    check: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(JSONType, default=list)
    element: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))


class MailMessageRow(Base):
    """One email the SMTP sink received, exactly as it arrived, so no run ever loses mail."""

    __tablename__ = "mail_messages"

    # Ever-increasing: a mailbox cursor is the highest id seen before a purchase.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    envelope_sender: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # Why the sink refused it (too big, unparseable; `raw` is then its start), NULL when accepted.
    refused: Mapped[str | None] = mapped_column(Text, nullable=True)


class MailRecipientRow(Base):
    """One lower-cased recipient of one received email (envelope RCPT TO and To/Cc/Delivered-To)."""

    __tablename__ = "mail_recipients"
    __table_args__ = (Index("ix_mail_recipients_address_message_id", "address", "message_id"),)

    message_id: Mapped[int] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(320), primary_key=True)


class IncidentRow(Base):
    """One problem (a finding fingerprint of one check of one audit) from its first failure to its fix.

    A problem that comes back after it was resolved is a new incident: the old one keeps its history.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        # process_run reads the unresolved incidents of one (audit, site) after every run.
        Index("ix_incidents_audit_site_status", "audit", "site", "status"),
        Index("ix_incidents_fingerprint", "fingerprint"),
        # Open incidents counted per site (the dashboard, migration 0010).
        Index("ix_incidents_site_status", "site", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit: Mapped[str] = mapped_column(String(200))
    check: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_seen_run: Mapped[str] = mapped_column(String(64))
    last_seen_run: Mapped[str] = mapped_column(String(64))
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    consecutive_passes: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set once the resolved message went out: one resolved during maintenance is announced later.
    resolved_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The site the audit ran against (one template audit runs for many sites; migration 0008 added
    # it last, hence here).
    site: Mapped[str] = mapped_column(String(200), default="", server_default="")


class NotificationRow(Base):
    """One attempt to send one alert message to one channel, whether it worked or not."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_run_id", "run_id"),
        Index("ix_notifications_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key: the record of what was sent outlives a pruned run.
    run_id: Mapped[str] = mapped_column(String(64))
    audit: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(20))
    incident_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    title: Mapped[str] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertCursorRow(Base):
    """Which run each (audit, site)'s incidents were last brought up to date with.

    `process_run` locks this row while it reads and saves the audit's incidents, so two processes
    finishing runs of one audit at once (the scheduler and a manual `auditor run`) take turns instead
    of both opening the same incident; and a run that was already applied, or is older than the one
    that was, changes nothing.
    """

    __tablename__ = "alert_cursors"

    audit: Mapped[str] = mapped_column(String(200), primary_key=True)
    site: Mapped[str] = mapped_column(String(200), primary_key=True, default="", server_default="")
    run_id: Mapped[str | None] = mapped_column(String(64))
    run_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentMarkRow(Base):
    """The moment a check may have submitted a payment, written before the pay click (see marks.py).

    No foreign key to the run: the record that a card may have been charged outlives a pruned run.
    """

    __tablename__ = "payment_marks"
    __table_args__ = (Index("ix_payment_marks_run_id_check", "run_id", "check"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    check: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    hostname: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)


# The dashboard's tables (migration 0009) and the queue's (0011), so that a fresh database made from
# the models has them.
from auditor.store import queue_models as _queue_models  # noqa: E402, F401
from auditor.store import web_models as _web_models  # noqa: E402, F401

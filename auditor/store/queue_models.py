"""Tables of the queue (issue 14; migration 0011): which scheduler took which slot, and which worker
processes are alive.

`schedule_slots` is the database lock that makes one run per audit per site per slot even with two
schedulers: its primary key (audit, site, slot_at) lets exactly one INSERT succeed. `workers` holds
one row per worker process, beaten every `[queue] heartbeat_interval_s`; a row that stops being
beaten is how a killed worker's runs are found (`auditor.queue.state.QueueState.reap`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auditor.store.models import Base, UTCDateTime


class ScheduleSlotRow(Base):
    """One scheduled fire of one audit on one site: claimed by one scheduler, then enqueued or missed."""

    __tablename__ = "schedule_slots"
    __table_args__ = (
        # `auditor runs` lists the missed ones, newest first.
        Index("ix_schedule_slots_state_slot_at", "state", "slot_at"),
    )

    audit: Mapped[str] = mapped_column(String(200), primary_key=True)
    site: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The cron fire time, UTC, seconds zeroed: every scheduler computes the same value.
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    scheduler: Mapped[str] = mapped_column(String(255))
    # 'claimed' | 'enqueued' | 'missed'
    state: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Why a slot was missed (the broker's error), in our words.
    detail: Mapped[str | None] = mapped_column(Text)


class WorkerRow(Base):
    """One worker process (`<celery nodename>/<pid>`) and what it is doing, as of its last heartbeat."""

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_last_seen_at", "last_seen_at"),)

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    # When that pid's process started (/proc, as runs.process_start): a process that took over a
    # dead one's name (a restarted container reuses its pids) is not the one that claimed its runs.
    process_start: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # 'main' | 'idle' | 'running' | 'stopping' | 'stopped' | 'lost'
    state: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[str | None] = mapped_column(String(64))
    audit: Mapped[str | None] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(200))

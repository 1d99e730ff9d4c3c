"""queue (issue 14): runs.worker and runs.queued_at; schedule_slots (one run per audit, site and slot,
whichever scheduler fires first); workers (one row per worker process, its heartbeat)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("worker", sa.String(255), nullable=True))
        batch.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "schedule_slots",
        sa.Column("audit", sa.String(200), primary_key=True),
        sa.Column("site", sa.String(200), primary_key=True),
        sa.Column("slot_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("scheduler", sa.String(255), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_schedule_slots_state_slot_at", "schedule_slots", ["state", "slot_at"])
    op.create_table(
        "workers",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("process_start", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("audit", sa.String(200), nullable=True),
        sa.Column("site", sa.String(200), nullable=True),
    )
    op.create_index("ix_workers_last_seen_at", "workers", ["last_seen_at"])


def downgrade() -> None:
    # Before 0011 no run is `queued` (older auditors cannot read that status) and nothing would ever
    # run one: a queued run is kept, as `interrupted` (it did not do its job, like a run cut short).
    # Runs a worker ran keep everything but the worker's name and when they were queued.
    op.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'queued'")
    op.drop_index("ix_workers_last_seen_at", table_name="workers")
    op.drop_table("workers")
    op.drop_index("ix_schedule_slots_state_slot_at", table_name="schedule_slots")
    op.drop_table("schedule_slots")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("queued_at")
        batch.drop_column("worker")

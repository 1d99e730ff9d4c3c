"""payment marks: the moment a check may have submitted a payment, recorded before the click

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_marks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("check", sa.String(200), nullable=False),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
    )
    op.create_index("ix_payment_marks_run_id_check", "payment_marks", ["run_id", "check"])


def downgrade() -> None:
    op.drop_index("ix_payment_marks_run_id_check", table_name="payment_marks")
    op.drop_table("payment_marks")

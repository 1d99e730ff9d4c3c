"""mail the SMTP sink refused (over its size limit, unparseable) is kept too, with the reason

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mail_messages", sa.Column("refused", sa.Text(), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite drops a column by copying the table, which Alembic's batch does for it.
    with op.batch_alter_table("mail_messages") as batch:
        batch.drop_column("refused")

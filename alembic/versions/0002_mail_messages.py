"""mail received by the SMTP sink, with an indexed table of its recipients

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("envelope_sender", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "mail_recipients",
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("mail_messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("address", sa.String(320), primary_key=True),
    )
    op.create_index("ix_mail_recipients_address_message_id", "mail_recipients", ["address", "message_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_recipients_address_message_id", table_name="mail_recipients")
    op.drop_table("mail_recipients")
    op.drop_table("mail_messages")

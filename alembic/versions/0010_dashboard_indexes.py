"""indexes the dashboard's read layer needs: runs by site (strip, history, run lists), by site and
audit (each audit's last run, failing streaks), incidents by site, a run's findings in order

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_runs_site_started_at", "runs", ["site", "started_at"]),
    ("ix_runs_site_audit_started_at", "runs", ["site", "audit", "started_at"]),
    ("ix_runs_site_audit_status_started_at", "runs", ["site", "audit", "status", "started_at"]),
    ("ix_incidents_site_status", "incidents", ["site", "status"]),
    ("ix_findings_run_id_id", "findings", ["run_id", "id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        # IF NOT EXISTS: until this migration was in, the dashboard made them itself
        # (auditor.web.queries.ensure_indexes).
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)

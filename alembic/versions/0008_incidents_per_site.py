"""incidents and alert cursors per audit AND site (issue 14: one template audit runs for many sites)

`incidents.site` is backfilled from the run that first saw the incident (its `runs.site`); an
incident whose first run was pruned gets the site of its last run, else "". `alert_cursors` becomes
keyed by (audit, site), each row's site taken from the run it records.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("site", sa.String(200), nullable=False, server_default=""))
    op.execute(
        "UPDATE incidents SET site = COALESCE("
        "(SELECT runs.site FROM runs WHERE runs.id = incidents.first_seen_run), "
        "(SELECT runs.site FROM runs WHERE runs.id = incidents.last_seen_run), '')"
    )
    # process_run reads the unresolved incidents of one (audit, site) after every run.
    op.drop_index("ix_incidents_audit_status", table_name="incidents")
    op.create_index("ix_incidents_audit_site_status", "incidents", ["audit", "site", "status"])

    op.create_table(
        "alert_cursors_0008",
        sa.Column("audit", sa.String(200), primary_key=True),
        sa.Column("site", sa.String(200), primary_key=True, server_default=""),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "INSERT INTO alert_cursors_0008 (audit, site, run_id, run_started_at, processed_at) "
        "SELECT audit, COALESCE((SELECT runs.site FROM runs WHERE runs.id = alert_cursors.run_id), ''), "
        "run_id, run_started_at, processed_at FROM alert_cursors"
    )
    op.drop_table("alert_cursors")
    op.rename_table("alert_cursors_0008", "alert_cursors")


def downgrade() -> None:
    # One cursor per audit again, at its sites' latest run (its id is not kept: a run of the audit
    # older than that is still ignored; only re-applying that very run is no longer refused).
    op.create_table(
        "alert_cursors_0007",
        sa.Column("audit", sa.String(200), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "INSERT INTO alert_cursors_0007 (audit, run_id, run_started_at, processed_at) "
        "SELECT audit, NULL, MAX(run_started_at), MAX(processed_at) FROM alert_cursors GROUP BY audit"
    )
    op.drop_table("alert_cursors")
    op.rename_table("alert_cursors_0007", "alert_cursors")
    op.drop_index("ix_incidents_audit_site_status", table_name="incidents")
    op.create_index("ix_incidents_audit_status", "incidents", ["audit", "status"])
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("site")

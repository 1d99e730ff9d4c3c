"""auditor's database: runs, check results, findings, received mail and incidents, with Alembic migrations."""

from __future__ import annotations

from auditor.store.incidents import Incident, IncidentStatus, Notification
from auditor.store.marks import PaymentMark
from auditor.store.migrate import current, downgrade, upgrade
from auditor.store.store import Pruned, RunSummary, Store, StoredMail

__all__ = [
    "Incident",
    "IncidentStatus",
    "Notification",
    "PaymentMark",
    "Pruned",
    "RunSummary",
    "Store",
    "StoredMail",
    "current",
    "downgrade",
    "upgrade",
]

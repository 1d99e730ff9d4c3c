"""auditor's database: runs, check results, findings and received mail, with Alembic migrations."""

from __future__ import annotations

from auditor.store.migrate import current, downgrade, upgrade
from auditor.store.store import RunSummary, Store, StoredMail

__all__ = ["RunSummary", "Store", "StoredMail", "current", "downgrade", "upgrade"]

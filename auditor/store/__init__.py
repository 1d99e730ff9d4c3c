"""auditor's database: runs, check results and findings, with Alembic migrations."""

from __future__ import annotations

from auditor.store.migrate import current, downgrade, upgrade
from auditor.store.store import RunSummary, Store

__all__ = ["RunSummary", "Store", "current", "downgrade", "upgrade"]

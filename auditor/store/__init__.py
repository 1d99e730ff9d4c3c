"""auditor's database: runs, check results, findings, received mail and incidents, with Alembic migrations.

The names below are loaded on first use (PEP 562): `auditor.store.marks` and
`auditor.store.history` hold plain data the runner and the reports need even when a run records
nothing (`auditor crawl --no-database`), and importing them must not cost SQLAlchemy's import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.store.incidents import Incident, IncidentStatus, Notification
    from auditor.store.marks import PaymentMark
    from auditor.store.migrate import current, downgrade, upgrade
    from auditor.store.store import Pruned, RunSummary, Store, StoredMail

_WHERE = {
    "Incident": "incidents",
    "IncidentStatus": "incidents",
    "Notification": "incidents",
    "PaymentMark": "marks",
    "current": "migrate",
    "downgrade": "migrate",
    "upgrade": "migrate",
    "Pruned": "store",
    "RunSummary": "store",
    "Store": "store",
    "StoredMail": "store",
}

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


# Hidden from type checkers, which see the imports above (as `auditor/__init__.py` does), so a
# name that is not here is still flagged.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _WHERE.get(name)
        if module is None:
            raise AttributeError(f"module 'auditor.store' has no attribute {name!r}")
        value = getattr(importlib.import_module(f"auditor.store.{module}"), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value

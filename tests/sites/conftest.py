"""Site tests use the alert tests' databases (SQLite, and PostgreSQL when AUDITOR_TEST_POSTGRES_URL is
set) and their real loopback webhook receiver."""

from __future__ import annotations

from tests.alerts.conftest import db_url, store, webhook, webhook_server  # noqa: F401

"""Mail fixtures: a store (SQLite, and PostgreSQL when AUDITOR_TEST_POSTGRES_URL is set), a real SMTP
sink on a free port, and a unique recipient per test so tests can share one sink and database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from auditor.mail import MailSink
from auditor.store import Store

PG_URL = os.environ.get("AUDITOR_TEST_POSTGRES_URL")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL of an empty database for this module; on PostgreSQL a fresh database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('mail') / 'auditor.db'}"
        return
    if not PG_URL:
        pytest.skip("AUDITOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    name = f"auditor_mail_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def sink(store: Store) -> Iterator[MailSink]:
    """One running sink per module and database, on a free port."""
    with MailSink(store, port=0) as running:
        yield running


@pytest.fixture
def customer() -> str:
    """This test's own recipient address, like a run's `customer.email`."""
    return f"shopper-{uuid.uuid4().hex[:10]}@example.test"

"""Alert fixtures: databases (SQLite, and PostgreSQL when AUDITOR_TEST_POSTGRES_URL is set), a real JSON
webhook receiver and the product's real SMTP sink, all on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from auditor.mail.sink import MailSink
from auditor.store import Store
from tests.alerts.receivers import Webhook

PG_URL = os.environ.get("AUDITOR_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database; on PostgreSQL a fresh database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'auditor.db'}"
        return
    if not PG_URL:
        pytest.skip("AUDITOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    name = f"auditor_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook()
    try:
        yield hook
    finally:
        hook.close()


@pytest.fixture
def webhook(webhook_server: Webhook) -> Webhook:
    """The module's JSON receiver, emptied for each test."""
    webhook_server.received.clear()
    return webhook_server


@pytest.fixture(scope="module")
def mail_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSink]:
    """The product's SMTP sink on a free loopback port, storing mail in its own SQLite file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sink') / 'mail.db'}"
    with MailSink(url, "127.0.0.1", 0) as sink:
        yield sink

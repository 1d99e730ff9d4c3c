"""Fixtures of the scheduler tests: stores (SQLite, PostgreSQL when configured), a heartbeat receiver."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from auditor.store import Store
from tests.scheduler.helpers import Receiver


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on SQLite and, when AUDITOR_TEST_POSTGRES_URL is set, on a fresh PostgreSQL database."""
    pg_url = os.environ.get("AUDITOR_TEST_POSTGRES_URL")
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'history.db'}")
        yield s
        s.close()
        return
    if not pg_url:
        pytest.skip("AUDITOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    name = f"auditor_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        s = Store.open(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
        yield s
        s.close()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def heartbeat(receiver: Receiver) -> Receiver:
    """The module's receiver, emptied and answering 200."""
    receiver.paths.clear()
    receiver.bodies.clear()
    receiver.status = 200
    return receiver

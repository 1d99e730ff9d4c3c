"""A new SQLite database is created from the models and stamped, not migrated step by step:
it must end up exactly as the migrations would have left it. On PostgreSQL (AUDITOR_TEST_POSTGRES_URL)
the models and the migrations must agree too, so the models never drift from the real schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from auditor.store import Store
from auditor.store.migrate import HEAD, alembic_config, current, upgrade
from auditor.store.models import Base
from tests.store.conftest import PG_URL


def _schema(url: str) -> dict[str, Any]:
    """Every table's columns, keys, indexes and constraints, and the recorded revision."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            tables: dict[str, Any] = {}
            for name in sorted(insp.get_table_names()):
                tables[name] = {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in insp.get_columns(name)
                    ],
                    "pk": insp.get_pk_constraint(name)["constrained_columns"],
                    "pk_name": insp.get_pk_constraint(name).get("name"),
                    "fks": sorted(
                        (
                            str(f.get("name")),
                            tuple(f["constrained_columns"]),
                            f["referred_table"],
                            tuple(f["referred_columns"]),
                            repr(sorted((f.get("options") or {}).items())),
                        )
                        for f in insp.get_foreign_keys(name)
                    ),
                    "indexes": sorted(
                        (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                        for i in insp.get_indexes(name)
                    ),
                    "uniques": sorted(
                        (str(u.get("name")), tuple(u["column_names"]))
                        for u in insp.get_unique_constraints(name)
                    ),
                    "checks": sorted(
                        (str(c.get("name")), c["sqltext"]) for c in insp.get_check_constraints(name)
                    ),
                }
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            enums = insp.get_enums() if conn.dialect.name == "postgresql" else []  # type: ignore[attr-defined]
            return {"tables": tables, "version": version, "enums": enums}
    finally:
        engine.dispose()


def test_a_fresh_sqlite_database_has_exactly_the_migrated_schema(tmp_path: Path) -> None:
    fresh, migrated = f"sqlite:///{tmp_path / 'fresh.db'}", f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(fresh)
    command.upgrade(alembic_config(migrated), "head")  # every migration, one after the other
    assert _schema(fresh)["tables"]
    assert _schema(fresh) == _schema(migrated)
    assert current(fresh) == HEAD


def test_a_database_that_has_tables_is_migrated_by_alembic_not_recreated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0005")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE keep_me (x INTEGER)"))
    engine.dispose()
    Store.open(url).close()
    assert current(url) == HEAD
    assert "keep_me" in _schema(url)["tables"]


def test_a_fresh_database_then_the_migrations_agree_on_the_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    Store.open(url).close()
    command.upgrade(alembic_config(url), "head")  # nothing left to do: Alembic reads the stamp
    command.downgrade(alembic_config(url), "0006")
    assert current(url) == "0006"


@pytest.fixture
def pg_pair() -> Iterator[tuple[str, str]]:
    """URLs of two new, empty PostgreSQL databases, dropped afterwards."""
    if not PG_URL:
        pytest.skip("AUDITOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    names = [f"auditor_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        base = make_url(PG_URL)
        urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
        yield urls[0], urls[1]
    finally:
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_on_postgresql_the_models_create_exactly_the_migrated_schema(pg_pair: tuple[str, str]) -> None:
    # A PostgreSQL database is always migrated step by step (upgrade); this keeps the models,
    # which the SQLite fast path creates from, equal to what the migrations make on a server too.
    migrated, created = pg_pair
    command.upgrade(alembic_config(migrated), "head")
    engine = create_engine(created)
    try:
        with engine.begin() as conn:
            Base.metadata.create_all(conn)
        command.stamp(alembic_config(created), "head")
    finally:
        engine.dispose()
    want, got = _schema(migrated), _schema(created)
    assert want["tables"]
    # The one known difference: migration 0008 rebuilt alert_cursors as alert_cursors_0008 and
    # renamed the table, which on PostgreSQL keeps its primary key's name. Nothing refers to it.
    assert want["tables"]["alert_cursors"]["pk_name"] == "alert_cursors_0008_pkey"
    want["tables"]["alert_cursors"]["pk_name"] = "alert_cursors_pkey"
    assert got == want


@pytest.mark.postgres
def test_on_postgresql_a_fresh_database_is_migrated_by_alembic(pg_pair: tuple[str, str]) -> None:
    url, _ = pg_pair
    upgrade(url)
    assert current(url) == HEAD

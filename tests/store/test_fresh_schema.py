"""A new SQLite database is created from the models and stamped, not migrated step by step:
it must end up exactly as the migrations would have left it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import create_engine, inspect, text

from auditor.store import Store
from auditor.store.migrate import HEAD, alembic_config, current, upgrade


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
                    "fks": sorted(
                        (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                        for f in insp.get_foreign_keys(name)
                    ),
                    "indexes": sorted(
                        (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                        for i in insp.get_indexes(name)
                    ),
                    "uniques": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
                    "checks": sorted(c["sqltext"] for c in insp.get_check_constraints(name)),
                }
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            return {"tables": tables, "version": version}
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

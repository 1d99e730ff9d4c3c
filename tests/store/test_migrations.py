"""Migrations build exactly the schema the models describe, and undo it cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from auditor.store import current, downgrade, upgrade
from auditor.store.migrate import script_location
from auditor.store.models import Base


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_to_base_and_up_again_is_clean(db_url: str) -> None:
    assert current(db_url) is None
    upgrade(db_url)
    assert current(db_url) == "0001"
    assert tables(db_url) == {"runs", "check_results", "findings"}
    downgrade(db_url, "base")
    assert current(db_url) is None
    assert tables(db_url) == set()
    upgrade(db_url)
    assert current(db_url) == "0001"


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migrations_are_found_from_any_working_directory() -> None:
    assert (script_location() / "env.py").is_file()


def test_the_pinned_head_revision_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from auditor.store.migrate import HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() == HEAD


def test_opening_a_current_database_does_not_load_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'a.db'}"
    code = (
        "import sys; from auditor.store import Store; "
        f"Store.open({url!r}).close(); "
        "print('alembic' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")

"""Migrations build exactly the schema the models describe, and undo it cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from auditor.store import current, downgrade, upgrade
from auditor.store.migrate import HEAD, alembic_config, script_location
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
    assert current(db_url) == HEAD
    assert tables(db_url) == {
        "runs",
        "check_results",
        "findings",
        "mail_messages",
        "mail_recipients",
        "incidents",
        "notifications",
        "alert_cursors",
        "payment_marks",
        "users",
        "api_tokens",
        "incident_notes",
        "web_secrets",
        "schedule_slots",
        "workers",
    }
    downgrade(db_url, "base")
    assert current(db_url) is None
    assert tables(db_url) == set()
    upgrade(db_url)
    assert current(db_url) == HEAD


def test_a_database_of_the_first_release_upgrades_and_keeps_its_runs(db_url: str) -> None:
    from datetime import UTC, datetime

    from auditor.results import RunResult
    from auditor.store import Store

    upgrade(db_url, "0001")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (id, audit, site, base_url, trigger, status, started_at, stats) "
                    "VALUES ('old', 'nightly', 'shop', 'http://x', 'manual', 'pass', :t, '{}')"
                ),
                {"t": datetime(2026, 11, 1, tzinfo=UTC)},
            )
    finally:
        engine.dispose()
    store = Store.open(db_url)
    try:
        assert current(db_url) == HEAD
        assert [r.id for r in store.recent_runs()] == ["old"]
        store.start_run(
            RunResult(
                id="new", audit="a", site="s", base_url="http://x", trigger="t", started_at=datetime.now(UTC)
            )
        )
        assert store.last_mail_id() == 0
    finally:
        store.close()


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    command.upgrade(alembic_config(db_url), "head")  # every step (upgrade() creates a new SQLite file)
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
    # A new SQLite database is created from the models, so even the first open skips Alembic.
    assert (first.stdout.strip(), again.stdout.strip()) == ("False", "False")


def test_0011_adds_the_queue_and_its_downgrade_keeps_every_run(db_url: str) -> None:
    """Up from 0010 with runs in it; back down with a queued run and a worker's run, which stay."""
    from datetime import UTC, datetime

    from auditor.queue.state import QueueState
    from auditor.results import RunResult, RunStatus
    from auditor.store import Store

    t = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    upgrade(db_url, "0010")
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (id, audit, site, base_url, trigger, status, started_at, stats) "
                    "VALUES ('before', 'nightly', 'shop', 'http://x', 'schedule', 'pass', :t, '{}')"
                ),
                {"t": t},
            )
    finally:
        engine.dispose()
    upgrade(db_url, "0011")
    assert {"worker", "queued_at"} <= _columns(db_url, "runs")
    store = Store.open(db_url)
    try:
        q = QueueState(store)
        q.record_queued("waiting", audit="nightly", site="shop", base_url="http://x", trigger="manual")
        q.record_queued("ran", audit="nightly", site="shop", base_url="http://x", trigger="manual")
        assert q.claim_run("ran", worker="auditor@h/1")
        store.start_run(
            RunResult(
                id="ran", audit="nightly", site="shop", base_url="http://x", trigger="manual", started_at=t
            )
        )
        assert q.claim_slot("nightly", "shop", t, scheduler="s1")
        q.worker_beat("auditor@h/1", state="running", run_id="ran")
        assert {r.id: r.status for r in store.recent_runs()} == {
            "before": RunStatus.PASS,
            "waiting": RunStatus.QUEUED,
            "ran": RunStatus.RUNNING,
        }
    finally:
        store.close()
    downgrade(db_url, "0010")
    assert current(db_url) == "0010"
    assert "schedule_slots" not in tables(db_url) and "workers" not in tables(db_url)
    assert not {"worker", "queued_at"} & _columns(db_url, "runs")
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = {r[0]: r[1] for r in conn.execute(text("SELECT id, status FROM runs"))}
    finally:
        engine.dispose()
    # An auditor before 0011 cannot read `queued`, and nothing would run it: it is kept, interrupted.
    assert rows == {"before": "pass", "waiting": "interrupted", "ran": "running"}
    upgrade(db_url)
    assert current(db_url) == HEAD


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()

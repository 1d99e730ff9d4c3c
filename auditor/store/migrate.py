"""Alembic, configured in code so `auditor db upgrade` works from any directory and from a wheel."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

import auditor
from auditor.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in alembic/versions (a test keeps them equal). Knowing it without loading
# Alembic lets every run skip Alembic, about 0.6 s of imports, when the schema is current.
HEAD = "0011"


def script_location() -> Path:
    """The migrations folder: bundled in the wheel as `auditor/_migrations`, else the repo's `alembic/`."""
    package = Path(auditor.__file__).parent
    bundled = package / "_migrations"
    if bundled.is_dir():
        return bundled
    return package.parent / "alembic"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the database at `url`, without any alembic.ini."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    # `%` is interpolation syntax in the config parser; a password may contain it.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["url"] = url
    return cfg


def safe_url(url: str) -> str:
    """`url` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable database URL>"


def _wrap(url: str, action: str, exc: Exception) -> StoreError:
    text = str(getattr(exc, "orig", None) or exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    return StoreError(
        f"could not {action} the database at {safe_url(url)}: {reason}. "
        "Check the URL (--database-url or AUDITOR_DATABASE_URL), that the server is running "
        "and that the user may create tables."
    )


# Any fixed number will do: it only has to be the same in every auditor process ("audi" in ASCII).
ADVISORY_LOCK_KEY = 0x61756469


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the database's migration lock: one process migrates while the others wait, then find the
    schema current (Alembic re-reads the revision once it has the lock), so any number of processes
    can start together on a fresh database.

    PostgreSQL: a session advisory lock, held on its own connection and released when it closes (a
    killed process releases it too). SQLite: an exclusive lock on a file next to the database, since
    SQLite's own locks cannot be held across the separate connections Alembic opens.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                    conn.commit()
        finally:
            engine.dispose()
        return
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        yield  # one process's own database (in memory) or a server that migrates safely by itself
        return
    with _file_lock(Path(database).with_name(Path(database).name + ".migrate-lock")):
        yield


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing), held until the block ends."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s; keep waiting like flock does
                    continue
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` forward to `revision` (the newest by default), under the
    migration lock, so processes starting together do not race.

    A new, empty SQLite database goes straight to the newest schema: created from the models and
    stamped HEAD, without Alembic (its imports and seven steps were most of a short crawl's start-up).
    `tests/store/test_fresh_schema.py` keeps that schema equal to the migrated one.
    """
    try:
        with migration_lock(url):
            if revision in ("head", HEAD) and _create_fresh(url):
                return
            from alembic import command

            command.upgrade(alembic_config(url), revision)
    except SQLAlchemyError as exc:
        raise _wrap(url, "migrate", exc) from exc
    except OSError as exc:
        raise _no_lock(url, exc) from exc


def _no_lock(url: str, exc: OSError) -> StoreError:
    """Why the lock file next to a SQLite database could not be made, in words to act on: most
    often the database's folder is missing or not writable."""
    database = make_url(url).database
    folder = Path(database).parent if database else None
    where = f"could not open the database at {safe_url(url)}: "
    fix = "Create it, or give another path (--database-url or AUDITOR_DATABASE_URL)."
    if folder is not None and not folder.is_dir():
        return StoreError(f"{where}its folder {folder} does not exist. {fix}")
    if folder is not None and isinstance(exc, PermissionError):
        return StoreError(
            f"{where}this user may not create files in {folder} (permission denied). "
            "Make the folder writable, or give another path (--database-url or AUDITOR_DATABASE_URL)."
        )
    return _wrap(url, "lock", exc)


def _create_fresh(url: str) -> bool:
    """Create the newest schema in an empty SQLite database and stamp it HEAD, as Alembic would.

    False, with nothing done, for any other database (not SQLite, or any table in it already):
    those are migrated step by step. Call it with the migration lock held.
    """
    if make_url(url).get_backend_name() != "sqlite":
        return False
    from auditor.store.models import Base

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            # One transaction for the whole schema: Python's sqlite3 opens none for DDL by itself,
            # so each CREATE was its own commit and sync to disk (15 tables, 19 indexes: about
            # 0.3 s on a busy disk, 25 ms as one). It also leaves no half-made schema behind.
            conn.exec_driver_sql("BEGIN")
            if inspect(conn).get_table_names():
                return False
            Base.metadata.create_all(conn, checkfirst=False)  # it has no table: no need to ask
            # The table and constraint Alembic itself creates for its revision.
            conn.execute(
                text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
            )
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD})
        return True
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` back to `revision` (`base` removes every table), under the lock."""
    from alembic import command

    try:
        with migration_lock(url):
            command.downgrade(alembic_config(url), revision)
    except SQLAlchemyError as exc:
        raise _wrap(url, "migrate", exc) from exc
    except OSError as exc:
        raise _wrap(url, "lock", exc) from exc


def current(url: str) -> str | None:
    """The revision the database at `url` is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise _wrap(url, "open", exc) from exc
    finally:
        engine.dispose()


def is_current(url: str) -> bool:
    """Whether the database at `url` is at HEAD already, found without loading Alembic."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    except SQLAlchemyError:
        return False  # no such table yet, or unreachable: upgrade() says which, properly
    finally:
        engine.dispose()

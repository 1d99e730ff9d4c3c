"""Alembic, configured in code so `auditor db upgrade` works from any directory and from a wheel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

import auditor
from auditor.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in alembic/versions (a test keeps them equal). Knowing it without loading
# Alembic lets every run skip Alembic, about 0.6 s of imports, when the schema is current.
HEAD = "0005"


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


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` forward to `revision` (the newest by default)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(url), revision)
    except SQLAlchemyError as exc:
        raise _wrap(url, "migrate", exc) from exc


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` back to `revision` (`base` removes every table)."""
    from alembic import command

    try:
        command.downgrade(alembic_config(url), revision)
    except SQLAlchemyError as exc:
        raise _wrap(url, "migrate", exc) from exc


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

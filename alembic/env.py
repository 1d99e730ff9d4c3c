"""Alembic environment: the URL comes from the Config built in auditor.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from auditor.store.models import Base

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
engine = create_engine(url)
try:
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()

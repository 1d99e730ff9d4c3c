"""Tables of the dashboard (`auditor serve`): its users, their API tokens, what they said about
incidents (acknowledged, muted), and the server's own secrets (the key that signs session cookies).

`silenced_incidents` is what the alert policy asks before a reminder.

Migration 0009 makes them (only those a database does not have: before it was in, `auditor serve`
made them itself). `ensure_tables` stays for a store opened without migrating; it creates nothing
on a database at the newest revision.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from auditor.store.models import Base, UTCDateTime

# The dashboard's tables are part of the one schema (migration 0009).
WebBase = Base


class UserRow(WebBase):
    """Someone who may log in to the dashboard: an admin, or a viewer (of one client, or of all)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # argon2id, as argon2-cffi encodes it (parameters and salt included).
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    # The only client whose sites this user sees; NULL: every site.
    client: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiTokenRow(WebBase):
    """A token a script sends as `Authorization: Bearer ...`; it acts as its user. Only its SHA-256
    is stored: the token itself is shown once, when it is made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IncidentNoteRow(WebBase):
    """Someone acknowledged or muted an incident: who, when, why, and (a mute) until when.

    The newest row of an incident is its state; older ones are its history."""

    __tablename__ = "incident_notes"
    __table_args__ = (Index("ix_incident_notes_incident", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The incident (incidents.id; no foreign key while the tables live apart from Base).
    incident_id: Mapped[int] = mapped_column(Integer)
    # "ack", "mute", or "unmute" (which ends an acknowledgement or a mute).
    action: Mapped[str] = mapped_column(String(20))
    by_user: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text)
    # A mute ends by itself then; NULL: until someone unmutes it (or it is resolved).
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSecretRow(WebBase):
    """A secret the dashboard keeps for itself, made on first start (the session-signing key)."""

    __tablename__ = "web_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def ensure_tables(engine: Engine) -> None:
    """Create the dashboard's tables that the database does not have yet."""
    from sqlalchemy.exc import SQLAlchemyError

    tables = [m.__table__ for m in (UserRow, ApiTokenRow, IncidentNoteRow, WebSecretRow)]
    try:
        WebBase.metadata.create_all(engine, tables=tables, checkfirst=True)  # type: ignore[arg-type]
    except SQLAlchemyError:  # another process made them between the check and the CREATE
        WebBase.metadata.create_all(engine, tables=tables, checkfirst=True)  # type: ignore[arg-type]


def latest_notes(s: Session, incident_ids: Collection[int]) -> dict[int, IncidentNoteRow]:
    """The newest note of each of `incident_ids` that has one."""
    out: dict[int, IncidentNoteRow] = {}
    ids = sorted(set(incident_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = s.scalars(
            select(IncidentNoteRow)
            .where(IncidentNoteRow.incident_id.in_(chunk))
            .order_by(IncidentNoteRow.at, IncidentNoteRow.id)
        )
        for row in rows:
            out[row.incident_id] = row
    return out


def is_silenced(note: IncidentNoteRow | None, now: datetime) -> bool:
    """Whether an incident whose newest note is `note` sends no reminders at `now`."""
    if note is None or note.action == "unmute":
        return False
    if note.action == "mute" and note.until is not None:
        return note.until > now
    return True


def silenced_incidents(s: Session, incident_ids: Collection[int], now: datetime) -> set[int]:
    """Those of `incident_ids` acknowledged, or muted at `now`: the alert policy sends them no reminder."""
    if not incident_ids:
        return set()
    notes = latest_notes(s, incident_ids)
    return {i for i, note in notes.items() if is_silenced(note, now)}


__all__ = [
    "ApiTokenRow",
    "IncidentNoteRow",
    "UserRow",
    "WebBase",
    "WebSecretRow",
    "ensure_tables",
    "is_silenced",
    "latest_notes",
    "silenced_incidents",
]

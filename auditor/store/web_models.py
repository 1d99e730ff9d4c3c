"""Tables of the dashboard (`auditor serve`): its users, their API tokens, what they said about
incidents (acknowledged, muted), and the server's own secrets (the key that signs session cookies).

Migration 0010 creates them; `silenced_incidents` is what the alert policy asks before a reminder.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from auditor.store.models import Base, UTCDateTime


class UserRow(Base):
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


class ApiTokenRow(Base):
    """A token a script sends as `Authorization: Bearer ...`; it acts as its user. Only its SHA-256
    is stored: the token itself is shown once, when it is made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IncidentNoteRow(Base):
    """Someone acknowledged or muted an incident: who, when, why, and (a mute) until when.

    The newest row of an incident is its state; older ones are its history."""

    __tablename__ = "incident_notes"
    __table_args__ = (Index("ix_incident_notes_incident", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(Integer, ForeignKey("incidents.id", ondelete="CASCADE"))
    # "ack", "mute", or "unmute" (which ends an acknowledgement or a mute).
    action: Mapped[str] = mapped_column(String(20))
    by_user: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text)
    # A mute ends by itself then; NULL: until someone unmutes it (or it is resolved).
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSecretRow(Base):
    """A secret the dashboard keeps for itself, made on first start (the session-signing key)."""

    __tablename__ = "web_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


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
    "WebSecretRow",
    "is_silenced",
    "latest_notes",
    "silenced_incidents",
]

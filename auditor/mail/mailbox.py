"""The Mailbox protocol every backend implements, and `wait_for`, the one way to wait for mail.

A check takes the mailbox's `cursor()` *before* the purchase, then asks for the messages after it
that were sent to this run's own address. Positions, not dates: a server's clock, a delayed
delivery or a resent message cannot make a message fall outside the window or an old one fall in.
Each backend re-checks the recipient exactly, because IMAP searches and most APIs match substrings
(a search for `a@x.com` also finds `aa@x.com`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from auditor.errors import InfrastructureError
from auditor.mail.message import Message

FIRST_POLL_S = 0.2
MAX_POLL_S = 5.0


class MailboxError(InfrastructureError):
    """A mailbox could not be read: unreachable, refused the login, or its position became invalid."""


@dataclass(frozen=True)
class Cursor:
    """A position in one mailbox: messages that arrive later are "after" it.

    `backend` names the kind of mailbox it belongs to ("sink", "imap"), `position` is that
    backend's own numbers (the sink: the highest message id; IMAP: UIDVALIDITY and UIDNEXT).
    `to_dict`/`from_dict` let a check hand it to a later check through JSON outputs.
    """

    backend: str
    position: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form of the cursor."""
        return {"backend": self.backend, "position": list(self.position)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cursor:
        """The cursor `to_dict` wrote."""
        return cls(str(data["backend"]), tuple(int(p) for p in data["position"]))


class Mailbox(Protocol):
    """Where a run's emails can be read. Every method may raise `MailboxError`."""

    async def cursor(self) -> Cursor:
        """The mailbox's position now; take it before the action that sends mail."""
        ...

    async def fetch(self, recipient: str, since: Cursor) -> list[Message]:
        """The messages after `since` with exactly `recipient` among their recipients, oldest first."""
        ...

    async def close(self) -> None:
        """Release connections (and stop anything the mailbox started)."""
        ...


@dataclass(frozen=True)
class Refusal:
    """A message the mailbox's own server refused (too big, unparseable): for whom, why, and its
    subject when its start could be read ("" otherwise)."""

    uid: str
    received_at: datetime
    sender: str
    recipients: tuple[str, ...]
    subject: str
    reason: str


@runtime_checkable
class RecordsRefusals(Protocol):
    """A mailbox that receives mail itself (the SMTP sink) and so knows what it refused."""

    async def refused(self, recipient: str, since: Cursor) -> list[Refusal]:
        """The messages to exactly `recipient` after `since` that were refused, oldest first."""
        ...


async def refused_for(mailbox: Mailbox, recipient: str, since: Cursor) -> list[Refusal]:
    """What the mailbox refused for `recipient` after `since`; [] for a mailbox that cannot know (IMAP:
    mail refused by the provider's server never reaches the folder)."""
    if isinstance(mailbox, RecordsRefusals):
        return await mailbox.refused(recipient, since)
    return []


def expect_cursor(cursor: Cursor, backend: str, size: int) -> tuple[int, ...]:
    """The position of `cursor`, after checking it was taken from a `backend` mailbox."""
    if cursor.backend != backend or len(cursor.position) != size:
        raise ValueError(f"a {cursor.backend!r} mailbox cursor cannot be used with a {backend!r} mailbox")
    return cursor.position


async def wait_for(
    mailbox: Mailbox,
    recipient: str,
    since: Cursor,
    *,
    match: Callable[[Message], bool] = lambda m: True,
    count: int = 1,
    timeout_s: float,
    settle_s: float = 0.0,
) -> list[Message]:
    """Poll until `count` messages to `recipient` after `since` satisfy `match`, or `timeout_s` passed.

    Polls at 0.2 s, doubling to at most 5 s between polls, and never raises on timeout: it
    returns whatever matched by then (maybe nothing), so the caller can tell "missing" from "late".
    When `count` messages were found it waits `settle_s` more and looks once again, so a duplicate
    sent right after the first copy is collected too.
    """
    deadline = time.monotonic() + timeout_s
    delay = FIRST_POLL_S
    while True:
        found = [m for m in await mailbox.fetch(recipient, since) if match(m)]
        left = deadline - time.monotonic()
        if len(found) >= count or left <= 0:
            break
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 2, MAX_POLL_S)
    if len(found) >= count and settle_s > 0:
        await asyncio.sleep(settle_s)
        found = [m for m in await mailbox.fetch(recipient, since) if match(m)]
    return found

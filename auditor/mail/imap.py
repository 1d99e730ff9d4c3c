"""The IMAP mailbox: a real inbox (a catch-all or plus-addressed test address) read with imap-tools.

The cursor is the folder's (UIDVALIDITY, UIDNEXT) taken before the purchase: every message that
arrives later gets a UID at or above UIDNEXT, whatever its Date header or the server's clock say.
A UIDVALIDITY change means the server renumbered the folder, so the old position means nothing:
that is an error, never a silent "no mail".

imap-tools and imaplib block, so every call runs in a worker thread, one at a time per mailbox;
the connection is kept between polls and re-opened once if the server dropped it. Messages are
fetched with BODY.PEEK, so reading never marks a customer's test mail as seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal, TypeVar

from imap_tools import AND, OR, H, U
from imap_tools.errors import (
    ImapToolsError,
    MailboxFolderSelectError,
    MailboxFolderStatusError,
    MailboxLoginError,
    MailboxStarttlsError,
)
from imap_tools.mailbox import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted

from auditor.mail.mailbox import Cursor, MailboxError, expect_cursor
from auditor.mail.message import Message, parse_message

Security = Literal["ssl", "starttls", "none"]
T = TypeVar("T")

TIMEOUT_S = 30.0
_FETCH = re.compile(rb"UID (\d+)|INTERNALDATE \"([^\"]+)\"")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_DATE = re.compile(r"\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")


class ImapMailbox:
    """A Mailbox over one folder of an IMAP account (`security`: "ssl", "starttls" or "none").

    Certificates are verified with the system's trust store; `ssl_context` replaces that context
    (a private CA, or a test server's self-signed certificate).
    """

    def __init__(
        self,
        host: str,
        port: int = 993,
        *,
        user: str,
        password: str,
        security: Security = "ssl",
        folder: str = "INBOX",
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.host, self.port, self.user, self.security, self.folder = host, port, user, security, folder
        self._password = password
        self._ssl_context = ssl_context
        self._timeout_s = timeout_s
        self._box: BaseMailBox | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ImapMailbox({self.user}@{self.host}:{self.port}/{self.folder}, {self.security})"

    async def cursor(self) -> Cursor:
        """The folder's (UIDVALIDITY, UIDNEXT) now."""
        return Cursor("imap", await self._call(self._status))

    async def fetch(self, recipient: str, since: Cursor) -> list[Message]:
        """Messages with a UID at or above the cursor's UIDNEXT, delivered to exactly `recipient`."""
        validity, uidnext = expect_cursor(since, "imap", 2)
        return await self._call(lambda: self._fetch(recipient, validity, uidnext))

    async def close(self) -> None:
        """Log out (quietly: the connection may already be gone)."""
        async with self._lock:
            await asyncio.to_thread(self._disconnect)

    async def _call(self, work: Callable[[], T]) -> T:
        """Run `work` in a thread with a live connection; reconnect once if the server dropped it."""
        async with self._lock:
            try:
                try:
                    return await asyncio.to_thread(self._connected, work)
                except (imaplib.IMAP4.abort, OSError):  # a dropped connection: once more on a new one
                    await asyncio.to_thread(self._disconnect)
                    return await asyncio.to_thread(self._connected, work)
            except (imaplib.IMAP4.error, ImapToolsError, OSError) as exc:
                await asyncio.to_thread(self._disconnect)
                raise MailboxError(
                    f"the IMAP server {self.host}:{self.port} failed while reading folder {self.folder!r}: "
                    f"{exc or type(exc).__name__}"
                ) from exc

    def _connected(self, work: Callable[[], T]) -> T:
        if self._box is None:
            self._box = self._connect()
        return work()

    def _connect(self) -> BaseMailBox:
        where = f"the IMAP server {self.host}:{self.port} ({self.security})"
        context = self._ssl_context or ssl.create_default_context()
        try:
            box: BaseMailBox
            if self.security == "ssl":
                box = MailBox(self.host, self.port, timeout=self._timeout_s, ssl_context=context)
            elif self.security == "starttls":
                box = MailBoxStartTls(self.host, self.port, timeout=self._timeout_s, ssl_context=context)
            else:
                box = MailBoxUnencrypted(self.host, self.port, timeout=self._timeout_s)
        except ssl.SSLError as exc:
            raise MailboxError(
                f"could not open a TLS connection to {where}: {exc}. Check the port and `security` "
                "(993 is usually ssl, 143 starttls) and that the server's certificate is valid."
            ) from exc
        except MailboxStarttlsError as exc:
            raise MailboxError(f'{where} refused STARTTLS: {_said(exc)}. Try security = "ssl".') from exc
        except (OSError, imaplib.IMAP4.error, ValueError) as exc:
            raise MailboxError(
                f"could not connect to {where}: {exc or type(exc).__name__}. "
                "Check the host, the port and the `security` setting, and that the server is running."
            ) from exc
        try:
            box.login(self.user, self._password, initial_folder=self.folder)
        except MailboxLoginError as exc:
            _quietly_logout(box)
            raise MailboxError(
                f"{where} refused the login of {self.user!r}: {_said(exc)}. Check the user and password."
            ) from exc
        except MailboxFolderSelectError as exc:
            _quietly_logout(box)
            raise MailboxError(
                f"{where} has no folder {self.folder!r} for {self.user!r}: {_said(exc)}. "
                "Check the `folder` setting (the default is INBOX)."
            ) from exc
        except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
            _quietly_logout(box)
            raise MailboxError(f"could not log in to {where}: {exc}") from exc
        return box

    def _disconnect(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            _quietly_logout(box)

    def _status(self) -> tuple[int, int]:
        assert self._box is not None
        try:
            status = self._box.folder.status(self.folder, ["UIDVALIDITY", "UIDNEXT"])
        except MailboxFolderStatusError as exc:
            raise MailboxError(
                f"the IMAP server {self.host}:{self.port} cannot report the position of folder "
                f"{self.folder!r}: {_said(exc)}"
            ) from exc
        return int(status["UIDVALIDITY"]), int(status["UIDNEXT"])

    def _fetch(self, recipient: str, validity: int, uidnext: int) -> list[Message]:
        box = self._box
        assert box is not None
        now_validity, _ = self._status()
        if now_validity != validity:
            raise MailboxError(
                f"the IMAP folder {self.folder!r} on {self.host}:{self.port} was renumbered "
                f"(UIDVALIDITY {validity} -> {now_validity}): it was recreated or the server rebuilt it, "
                "so mail cannot be matched to a position taken before. Run the audit again."
            )
        # A selected folder shows new arrivals only after the server syncs it; NOOP is the way to ask.
        box.client.noop()
        address = recipient.strip().lower()
        # The server's search narrows the candidates (substring matches); the exact check is ours.
        query = AND(
            OR(to=address, cc=address, header=[H("Delivered-To", address), H("X-Original-To", address)]),
            uid=U(str(uidnext), "*"),
        )
        charset = None if address.isascii() else "UTF-8"
        # "UID n:*" always includes the newest message, even when its UID is below n.
        uids = [u for u in box.uids(query, charset=charset) if int(u) >= uidnext]
        if not uids:
            return []
        typ, data = box.client.uid("FETCH", ",".join(uids), "(UID INTERNALDATE BODY.PEEK[])")
        if typ != "OK":
            raise MailboxError(
                f"the IMAP server {self.host}:{self.port} would not return messages {uids}: {data!r}"
            )
        messages = [_message(item) for item in data if isinstance(item, tuple)]
        return sorted((m for m in messages if m.is_for(address)), key=lambda m: int(m.uid))


def _message(item: tuple[bytes, bytes]) -> Message:
    """A Message from one FETCH response item: (b'N (UID u INTERNALDATE "d" BODY[] {n}', raw)."""
    meta, raw = item
    uid, received = "", datetime.now(UTC)
    for m in _FETCH.finditer(meta):
        if m.group(1):
            uid = m.group(1).decode()
        elif m.group(2):
            received = _internaldate(m.group(2).decode()) or received
    return parse_message(raw, received, uid)


def _internaldate(value: str) -> datetime | None:
    """An IMAP INTERNALDATE ("23-Nov-2026 14:05:09 +0100") as aware UTC; locale-independent."""
    m = _DATE.fullmatch(value)
    if m is None or m.group(2) not in _MONTHS:
        return None
    day, _, year, hh, mm, ss, sign, zh, zm = m.groups()
    offset = timedelta(hours=int(zh), minutes=int(zm)) * (-1 if sign == "-" else 1)
    local = datetime(
        int(year), _MONTHS[m.group(2)], int(day), int(hh), int(mm), int(ss), tzinfo=timezone(offset)
    )
    return local.astimezone(UTC)


def _said(exc: ImapToolsError) -> str:
    """What the server answered, from an imap-tools status error."""
    result = getattr(exc, "command_result", None)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in result[1])
    return str(exc)


def _quietly_logout(box: BaseMailBox) -> None:
    # The server may have hung up already, or never logged us in: nothing is left to release then.
    with contextlib.suppress(OSError, imaplib.IMAP4.error, ImapToolsError):
        box.logout()

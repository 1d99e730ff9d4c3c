"""The built-in SMTP sink: accepts every email sent to it and keeps it in auditor's database.

Point a demo or staging shop's outgoing SMTP at it (no TLS; any login is accepted, nothing is ever
relayed). Because mail goes to the database, not to memory, a sink running on its own
(`serve_sink`, the `auditor mail-sink` command) and the audit runs share it, and nothing is lost
between runs or when the sink restarts. `SinkMailbox` reads it back for the checks.

The SMTP server runs on its own event loop in a thread, so it keeps accepting mail while the
caller's loop is busy driving a browser, and so a blocking caller (a test, the CLI) can use it too.

It is as tolerant as a real MTA (Postfix): a line may end with a bare LF, be longer than SMTP's
1,000 characters, and headers may be 8-bit. What it refuses (a message over `max_message_bytes`,
or one that cannot be parsed) is still recorded, with the reason, so the email check can report
"the shop's mail was refused" instead of a silent "no email".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session, syntax
from sqlalchemy.exc import SQLAlchemyError

from auditor.errors import AuditorError
from auditor.mail.mailbox import Cursor, MailboxError, Refusal, expect_cursor
from auditor.mail.message import Message, parse_message
from auditor.store import Store
from auditor.store.migrate import safe_url

log = logging.getLogger(__name__)


def _not_login_data_warning(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Session.login_data is deprecated")


# aiosmtpd sets its own deprecated attribute on every AUTH and logs a warning about it: nothing to act on.
logging.getLogger("mail.log").addFilter(_not_login_data_warning)

T = TypeVar("T")
IDENT = "auditor mail sink"
_START_TIMEOUT_S = 10.0
MB = 1024 * 1024
DEFAULT_MAX_MESSAGE_MB = 25
# What a refused message keeps of itself: enough for its headers (who, what subject) as evidence.
_HEAD_BYTES = 64 * 1024
# A line longer than this is read in pieces; lines of any length are accepted.
_READ_LIMIT = 64 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")


class _StoreHandler:
    """aiosmtpd handler: every message is written to the store before the sink answers.

    A message is refused (5xx) only when it is over the size limit or cannot be parsed; it is then
    stored too, marked with the reason, so a check can tell "refused" from "never sent".
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
        received_at = datetime.now(UTC)
        try:
            # The headers are enough to know who it is for; parsing a 10 MB body here costs a second.
            recipients = parse_message(_header_block(raw), received_at, "", envelope.rcpt_tos).recipients
        # Any failure: whatever a shop sends must become a record, never a lost message.
        except Exception as exc:
            reason = f"the message could not be parsed ({type(exc).__name__}: {exc})"
            return await self.refuse(envelope, raw[:_HEAD_BYTES], reason, "554 5.6.0 " + reason[:200])
        return await self._store(raw, envelope, recipients, None, "250 2.0.0 Message accepted")

    async def refuse(self, envelope: Envelope, head: bytes, reason: str, reply: str) -> str:
        """Record a refused message (its start, envelope and reason) and give the SMTP reply."""
        return await self._store(head, envelope, envelope.rcpt_tos, reason, reply)

    async def _store(
        self, raw: bytes, envelope: Envelope, recipients: Any, refused: str | None, reply: str
    ) -> str:
        sender = envelope.mail_from or ""
        received_at = datetime.now(UTC)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: self.store.add_mail(
                    raw,
                    envelope_sender=sender,
                    recipients=recipients,
                    received_at=received_at,
                    refused=refused,
                ),
            )
        except (SQLAlchemyError, AuditorError) as exc:
            log.error("the mail sink could not store a message from %s: %s", sender, exc)
            # A temporary failure: the sending shop keeps the message and tries again later.
            return "451 4.3.0 Could not store the message; try again later"
        if refused:
            log.warning("the mail sink refused a message from %s to %s: %s", sender, recipients, refused)
        return reply

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """Advertise the size limit (SIZE) ourselves: aiosmtpd's own limit refuses at MAIL FROM, before
        the recipients are known, and such a refusal could not be told to the run it belongs to."""
        session.host_name = hostname
        limit = getattr(server, "max_bytes", 0)
        return [responses[0], f"250-SIZE {limit}", *responses[1:]] if limit else responses


def _header_block(raw: bytes) -> bytes:
    """The header section of a raw message (all of it when there is no blank line)."""
    end = _HEADER_END.search(raw)
    return raw[: end.end()] if end else raw


def _any_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    """Accept every login: shops configured with SMTP credentials must be able to send to the sink."""
    return AuthResult(success=True)


class MailSink:
    """An SMTP server on `host:port` storing every message in the database (a URL or an open Store).

    Use it as a context manager (`with` or `async with`) or call `start()`/`stop()`. Port 0 picks
    a free port; `port` says which after `start()`. A message over `max_message_bytes` is refused
    (and recorded as refused).
    """

    def __init__(
        self,
        target: str | Store,
        host: str = "127.0.0.1",
        port: int = 8025,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_MB * MB,
    ) -> None:
        if max_message_bytes < 1:
            raise ValueError(f"max_message_bytes must be positive, got {max_message_bytes}")
        self._target = target
        self.host = host
        self._port = port
        self.max_message_bytes = max_message_bytes
        self._store: Store | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: OSError | None = None

    @property
    def port(self) -> int:
        """The port the sink listens on (the real one once started, also when 0 was asked for)."""
        return self._port

    @property
    def store(self) -> Store:
        """The store the sink writes to (opened by `start()` when a URL was given)."""
        if self._store is None:
            raise RuntimeError("the mail sink is not started")
        return self._store

    def start(self) -> None:
        """Open the store and start listening; raises MailboxError when the port cannot be bound."""
        if self._thread is not None:
            return
        self._store = self._target if isinstance(self._target, Store) else Store.open(self._target)
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._serve, name=f"mail-sink-{self._port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or self._error is not None:
            error = self._error
            self.stop()
            raise MailboxError(
                f"the mail sink could not listen on {self.host}:{self._port}: {error or 'timed out'}. "
                "Is another program using that port? Choose another port, or stop the other sink."
            )

    def stop(self) -> None:
        """Stop listening and release the store (if the sink opened it)."""
        thread, loop = self._thread, self._loop
        if thread is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(_START_TIMEOUT_S)
        self._thread = self._loop = None
        if self._store is not None and not isinstance(self._target, Store):
            self._store.close()
        self._store = None

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        handler = _StoreHandler(self.store)
        try:
            server = loop.run_until_complete(
                loop.create_server(
                    lambda: _smtp(handler, self.max_message_bytes), host=self.host, port=self._port
                )
            )
        except OSError as exc:
            self._error = exc
            loop.close()
            self._ready.set()  # only now: stop() must find the loop closed, not closing
            return
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def __enter__(self) -> MailSink:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> MailSink:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


class _TolerantSMTP(SMTP):
    """aiosmtpd's SMTP server with a DATA phase as tolerant as Postfix's.

    aiosmtpd reads DATA in CRLF-terminated lines of at most 1,001 bytes and answers "500 Line too
    long" otherwise, so a message with bare LF line ends (what `smtplib.sendmail(..., msg.as_bytes())`
    sends) or a long line is refused. Here a line ends at LF (with or without CR) and may be of any
    length; "." alone on a line ends the data, and a leading dot is unstuffed (RFC 5321 4.5.2).
    The bytes are kept as received otherwise.
    """

    # The reader's buffer limit: longer lines are read in pieces (commands keep their own limits).
    line_length_limit = _READ_LIMIT

    def __init__(self, handler: _StoreHandler, *, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(handler, data_size_limit=None, **kwargs)
        self.store_handler = handler
        self.max_bytes = max_bytes

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        envelope = self.envelope
        assert envelope is not None
        if not envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            data, size = await self._read_data()
        except asyncio.CancelledError:
            self._writer.close()
            raise
        except asyncio.IncompleteReadError:
            return  # the client hung up in the middle: nothing was sent
        if size > self.max_bytes:
            reason = (
                f"the message is {size:,} bytes, over the sink's limit of {self.max_bytes:,} bytes "
                f"({self.max_bytes / MB:g} MB)"
            )
            status = await self.store_handler.refuse(
                envelope, bytes(data), reason, "552 5.3.4 Message size exceeds fixed maximum message size"
            )
        else:
            envelope.content = envelope.original_content = bytes(data)
            status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)

    async def _read_data(self) -> tuple[bytearray, int]:
        """The message up to the lone dot, and its size; past the limit only its first bytes are kept.

        Read in bulk, up to the next line that starts with a dot (rare: only those need unstuffing,
        and one of them ends the data): a line at a time would cost seconds on a 10 MB message.
        """
        data = bytearray()
        dot_line, size = await self._line_start(data, 0)
        while True:
            if not dot_line:
                piece, found = await self._until(b"\n.")
                # The dot that starts the next line is its stuffing (or the end): never kept.
                size = self._keep(data, size, piece[:-1] if found else piece)
                dot_line = found
                continue
            piece, found = await self._until(b"\n")
            if found and piece in (b"\r\n", b"\n"):
                return data, size
            size = self._keep(data, size, piece)
            while not found:
                piece, found = await self._until(b"\n")
                size = self._keep(data, size, piece)
            dot_line, size = await self._line_start(data, size)

    async def _line_start(self, data: bytearray, size: int) -> tuple[bool, int]:
        """Read the start of a line: True when it starts with a dot (not kept), else False with its
        first byte kept. Empty bare-LF lines are kept on the way: the byte after each starts a line
        too (the search for the next "\n." cannot see one that begins with the LF read here)."""
        while True:
            first = await self._reader.readexactly(1)
            if first == b".":
                return True, size
            size = self._keep(data, size, first)
            if first != b"\n":
                return False, size

    async def _until(self, separator: bytes) -> tuple[bytes, bool]:
        """The bytes up to and including `separator`, or as much as the reader holds without it
        (then False: the rest follows). Raises IncompleteReadError when the client hung up."""
        try:
            return await self._reader.readuntil(separator), True
        except asyncio.LimitOverrunError as e:
            piece = await self._reader.read(e.consumed)
            if not piece:
                raise asyncio.IncompleteReadError(b"", None) from e
            return piece, False

    def _keep(self, data: bytearray, size: int, piece: bytes) -> int:
        """Count `piece` and keep it: all of it within the limit, only the message's head past it."""
        size += len(piece)
        if size <= self.max_bytes:
            data += piece
        elif len(data) > _HEAD_BYTES:
            del data[_HEAD_BYTES:]  # just went over: keep only the head, as evidence
        elif len(data) < _HEAD_BYTES:
            data += piece[: _HEAD_BYTES - len(data)]
        return size


def _smtp(handler: _StoreHandler, max_bytes: int) -> SMTP:
    return _TolerantSMTP(
        handler,
        max_bytes=max_bytes,
        ident=IDENT,
        enable_SMTPUTF8=True,
        decode_data=False,
        authenticator=_any_login,
        auth_require_tls=False,
    )


def sink_banner(host: str, port: int, timeout_s: float = 3.0) -> str | None:
    """The greeting of the SMTP server on `host:port`, or None when nothing listens there."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            return sock.recv(512).decode("utf-8", "replace").strip()
    except OSError:
        return None


class SinkMailbox:
    """The Mailbox over the sink's database table: the cursor is the highest stored message id.

    If `sink` is given, the mailbox owns it and stops it on `close()`.
    """

    def __init__(self, store: Store, sink: MailSink | None = None) -> None:
        self.store = store
        self.sink = sink

    async def cursor(self) -> Cursor:
        """The id of the newest message stored now."""
        return Cursor("sink", (await self._read(self.store.last_mail_id),))

    async def fetch(self, recipient: str, since: Cursor) -> list[Message]:
        """Messages stored after `since` whose recipients include exactly `recipient` (refused ones aside)."""
        messages, _ = await self._read_for(recipient, since)
        return messages

    async def refused(self, recipient: str, since: Cursor) -> list[Refusal]:
        """Messages to `recipient` after `since` the sink refused (too big, unparseable), oldest first."""
        _, refusals = await self._read_for(recipient, since)
        return refusals

    async def _read_for(self, recipient: str, since: Cursor) -> tuple[list[Message], list[Refusal]]:
        (after,) = expect_cursor(since, "sink", 1)
        stored = await self._read(lambda: self.store.mail_for(recipient, after))
        messages: list[Message] = []
        refusals: list[Refusal] = []
        for m in stored:
            reason = m.refused
            parsed: Message | None = None
            try:
                parsed = parse_message(m.raw, m.received_at, str(m.id), m.recipients)
            # Stored before a parser change, or a parser bug: the message is reported, not a crash.
            except Exception as exc:
                reason = reason or f"the message could not be parsed ({type(exc).__name__}: {exc})"
            if reason is None and parsed is not None:
                if parsed.is_for(recipient):
                    messages.append(parsed)
                continue
            refusals.append(
                Refusal(
                    uid=str(m.id),
                    received_at=m.received_at,
                    sender=m.envelope_sender,
                    recipients=m.recipients,
                    subject=parsed.subject if parsed is not None else "",
                    reason=reason or "",
                )
            )
        return messages, refusals

    async def close(self) -> None:
        """Stop the sink this mailbox started, if any."""
        if self.sink is not None:
            await asyncio.to_thread(self.sink.stop)
            self.sink = None

    async def _read(self, query: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(query)
        except SQLAlchemyError as exc:
            raise MailboxError(
                f"could not read the mail sink's messages from the database at {safe_url(self.store.url)}: "
                f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0]}"
            ) from exc


def serve_sink(
    database_url: str,
    host: str = "127.0.0.1",
    port: int = 8025,
    *,
    max_message_mb: float = DEFAULT_MAX_MESSAGE_MB,
    announce: Callable[[str], object] = print,
) -> None:
    """Run the SMTP sink until Ctrl-C, storing every message in the database at `database_url`."""
    with MailSink(database_url, host, port, max_message_bytes=int(max_message_mb * MB)) as sink:
        announce(
            f"auditor mail sink: listening on {sink.host}:{sink.port}, storing mail in "
            f"{safe_url(database_url)}, refusing messages over {max_message_mb:g} MB. Ctrl-C stops it."
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()

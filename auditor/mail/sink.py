"""The built-in SMTP sink: accepts every email sent to it and keeps it in auditor's database.

Point a demo or staging shop's outgoing SMTP at it (no TLS; any login is accepted, nothing is ever
relayed). Because mail goes to the database, not to memory, a sink running on its own
(`serve_sink`, the `auditor mail-sink` command) and the audit runs share it, and nothing is lost
between runs or when the sink restarts. `SinkMailbox` reads it back for the checks.

The SMTP server runs on its own event loop in a thread, so it keeps accepting mail while the
caller's loop is busy driving a browser, and so a blocking caller (a test, the CLI) can use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from sqlalchemy.exc import SQLAlchemyError

from auditor.errors import AuditorError
from auditor.mail.mailbox import Cursor, MailboxError, expect_cursor
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


class _StoreHandler:
    """aiosmtpd handler: every message is written to the store before the sink answers 250."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
        received_at = datetime.now(UTC)
        sender = envelope.mail_from or ""
        try:
            recipients = parse_message(raw, received_at, "", envelope.rcpt_tos).recipients
            await asyncio.get_running_loop().run_in_executor(
                None,
                lambda: self.store.add_mail(
                    raw, envelope_sender=sender, recipients=recipients, received_at=received_at
                ),
            )
        except (SQLAlchemyError, AuditorError) as exc:
            log.error("the mail sink could not store a message from %s: %s", sender, exc)
            # A temporary failure: the sending shop keeps the message and tries again later.
            return "451 4.3.0 Could not store the message; try again later"
        return "250 2.0.0 Message accepted"


def _any_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    """Accept every login: shops configured with SMTP credentials must be able to send to the sink."""
    return AuthResult(success=True)


class MailSink:
    """An SMTP server on `host:port` storing every message in the database (a URL or an open Store).

    Use it as a context manager (`with` or `async with`) or call `start()`/`stop()`. Port 0 picks
    a free port; `port` says which after `start()`.
    """

    def __init__(self, target: str | Store, host: str = "127.0.0.1", port: int = 8025) -> None:
        self._target = target
        self.host = host
        self._port = port
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
                loop.create_server(lambda: _smtp(handler), host=self.host, port=self._port)
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


def _smtp(handler: _StoreHandler) -> SMTP:
    return SMTP(
        handler,
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
        """Messages stored after `since` whose recipients include exactly `recipient`."""
        (after,) = expect_cursor(since, "sink", 1)
        stored = await self._read(lambda: self.store.mail_for(recipient, after))
        messages = [parse_message(m.raw, m.received_at, str(m.id), m.recipients) for m in stored]
        return [m for m in messages if m.is_for(recipient)]

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
    announce: Callable[[str], object] = print,
) -> None:
    """Run the SMTP sink until Ctrl-C, storing every message in the database at `database_url`."""
    with MailSink(database_url, host, port) as sink:
        announce(
            f"auditor mail sink: listening on {sink.host}:{sink.port}, storing mail in "
            f"{safe_url(database_url)}. Ctrl-C stops it."
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()

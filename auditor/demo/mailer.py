"""The demo shop's outgoing mail: a background worker that hands messages to an SMTP server.

Requests only queue a message, so a slow or dead mail server never slows a page down, and a send
failure is logged, never shown to the customer (as in a real shop, where mail goes through a queue).
A message may be due later (the `slow-email` fault): the worker sends messages in due order, so a
late order confirmation never holds back the account email queued after it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import smtplib
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0
JOIN_TIMEOUT_S = 30.0


class Mailer:
    """Sends queued messages to `host:port` over plain SMTP (stdlib smtplib) in one worker thread.

    `bare_lf`: hand smtplib `message.as_bytes()` (bare LF line ends, sent as they are) instead of
    `send_message`, which converts them to CRLF.

    The worker starts on the first message, so building a shop starts no thread. `sent` and
    `failed` count messages handed to the server and messages it could not take.
    """

    def __init__(
        self, host: str, port: int, *, timeout_s: float = SEND_TIMEOUT_S, bare_lf: bool = False
    ) -> None:
        self.host = host
        self.port = port
        self.bare_lf = bare_lf
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, EmailMessage]] = []  # (due, sequence, message)
        self._seq = itertools.count()
        self._in_flight = 0
        # A worker serves while the generation it started in is current; close() moves it on.
        self._generation = 0
        self._thread: threading.Thread | None = None

    def send(self, message: EmailMessage, delay_s: float = 0.0) -> None:
        """Queue a message, to be sent `delay_s` seconds from now; returns at once."""
        with self._cond:
            heapq.heappush(self._queue, (time.monotonic() + delay_s, next(self._seq), message))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._generation,), name="demo-shop-mailer", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def join(self, timeout_s: float = JOIN_TIMEOUT_S) -> bool:
        """Wait until every queued message was handed to the server (or failed); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout_s)

    def close(self) -> None:
        """Stop the worker (when the shop stops); messages not yet sent are dropped and logged.
        A later send() starts a new worker."""
        with self._cond:
            if self._queue:
                log.info("demo shop mailer stopped with %d unsent message(s)", len(self._queue))
            self._queue.clear()
            self._generation += 1
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=self.timeout_s + 1)

    def _next_due(self, generation: int) -> EmailMessage | None:
        """Block until a message is due and take it; None once close() was called."""
        with self._cond:
            while self._generation == generation:
                if not self._queue:
                    self._cond.wait()
                    continue
                wait_s = self._queue[0][0] - time.monotonic()
                if wait_s > 0:
                    self._cond.wait(wait_s)
                    continue
                self._in_flight += 1
                return heapq.heappop(self._queue)[2]
            return None

    def _run(self, generation: int) -> None:
        while (message := self._next_due(generation)) is not None:
            try:
                self._deliver(message)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _deliver(self, message: EmailMessage) -> None:
        """One SMTP session per message; a failure is counted and logged, never raised."""
        # Dated when sent, like a real mail queue: a late message is late by its Date header too.
        del message["Date"]
        message["Date"] = format_datetime(datetime.now(UTC))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.bare_lf:
                    # What many mailers do: the bytes as the email package writes them, LF line ends.
                    to = [a.addr_spec for a in message["To"].addresses]
                    smtp.sendmail(message["From"].addresses[0].addr_spec, to, message.as_bytes())
                else:
                    smtp.send_message(message)
        # Any failure, not only the network's: one bad message must not stop the worker for the rest.
        except Exception as e:
            with self._cond:
                self.failed += 1
            log.warning(
                "demo shop could not send %r to %s via SMTP %s:%d: %s. Is a mail server listening there?",
                message["Subject"],
                message["To"],
                self.host,
                self.port,
                e,
            )
            return
        with self._cond:
            self.sent += 1

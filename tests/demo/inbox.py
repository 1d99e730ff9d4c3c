"""A real SMTP server on loopback (aiosmtpd) that keeps what the demo shop sends, for tests.

aiosmtpd's Controller cannot start on port 0 by itself (it connects to the port it was given to
check the server is up: aio-libs/aiosmtpd#388), so LoopbackSMTP reads the bound port first.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it."""

    recipients: tuple[str, ...]  # envelope RCPT TO, lower-cased
    message: EmailMessage
    arrived: float  # time.monotonic() on arrival

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None, "no text/plain part"
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None, "no text/html part"
        return str(part.get_content())

    def text_links(self) -> list[str]:
        """Every URL in the text part."""
        return URL.findall(self.text)


class Inbox:
    """The aiosmtpd handler: keeps every message, for every recipient, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self.port = 0  # the SMTP server's, once started

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        received = Received(tuple(r.lower() for r in envelope.rcpt_tos), message, time.monotonic())
        with self._lock:
            self._messages.append(received)
        return "250 Message accepted for delivery"

    def to(self, address: str, subject: str | None = None) -> list[Received]:
        """Messages whose envelope recipients include `address` (and with that subject, if given)."""
        wanted = address.lower()
        with self._lock:
            found = list(self._messages)
        return [m for m in found if wanted in m.recipients and (subject is None or m.subject == subject)]

    def wait_for(
        self, address: str, subject: str | None = None, *, count: int = 1, timeout_s: float = 10.0
    ) -> list[Received]:
        """Poll until `count` such messages arrived or the deadline passed; what arrived by then."""
        deadline = time.monotonic() + timeout_s
        pause = 0.01
        while True:
            found = self.to(address, subject)
            left = deadline - time.monotonic()
            if len(found) >= count or left <= 0:
                return found
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.25)


class LoopbackSMTP(Controller):
    """An aiosmtpd Controller on 127.0.0.1 that may be given port 0 (a free port)."""

    def __init__(self, handler: Inbox) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

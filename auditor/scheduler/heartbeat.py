"""Pinging a heartbeat URL around each run, so that a silent auditor is noticed (a dead man's switch).

healthchecks.io's convention: `<url>/start` when a run starts, `<url>` when it succeeds,
`<url>/fail` when it fails. A URL containing `{event}` gets `start`, `success` or `fail` in its
place instead, for services that spell it differently. A ping that fails is logged and forgotten:
the heartbeat watches the auditor, it must never be the reason a run breaks.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from types import TracebackType
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("auditor.scheduler")

PING_TIMEOUT_S = 10.0


class Event(StrEnum):
    START = "start"
    SUCCESS = "success"
    FAIL = "fail"


def ping_url(url: str, event: Event) -> str:
    """Where to send `event`: healthchecks.io's suffixes, or `{event}` substituted."""
    if "{event}" in url:
        return url.replace("{event}", event.value)
    base = url.rstrip("/")
    return base if event == Event.SUCCESS else f"{base}/{event.value}"


class Heartbeat:
    """Sends the pings of one scheduler; use it as `async with Heartbeat(url) as hb`."""

    def __init__(self, url: str | None, *, timeout_s: float = PING_TIMEOUT_S) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) if url else None

    async def __aenter__(self) -> Heartbeat:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client:
            await self._client.aclose()

    async def ping(self, event: Event, body: str = "") -> bool:
        """Send `event` (with `body`, shown by healthchecks.io in its log); False when it failed."""
        if not self.url or not self._client:
            return False
        url = ping_url(self.url, event)
        # The URL itself is a credential (anyone holding it can ping): log only its host.
        where = urlsplit(url).netloc
        try:
            response = await self._client.post(url, content=body.encode())
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            log.warning("heartbeat %s ping to %s failed: %s: %s", event, where, type(e).__name__, e)
            return False
        if response.is_error:
            log.warning("heartbeat %s ping to %s was refused: HTTP %d", event, where, response.status_code)
            return False
        log.debug("heartbeat %s ping to %s: HTTP %d", event, where, response.status_code)
        return True

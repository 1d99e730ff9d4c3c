"""Fetching one URL politely: per-host limits and delay, retries with backoff, redirects by hand.

Every redirect hop is requested and recorded here (the client never follows redirects), so a
finding can show the whole chain. Only transient failures are retried: timeouts, resets, 5xx and
429, with exponential backoff and jitter; `Retry-After` is honoured up to `max_retry_after_s`.
A host that keeps answering 429 gets half its concurrency and a delay between requests.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from auditor.config import CrawlLimits
from auditor.crawl.urls import MalformedURL, host_of, normalise, resolve

# The first retry waits about this long, the next twice as long, and so on (tests shrink it).
BACKOFF_BASE_S = 0.5
MAX_HOPS = 10
# However often a host answers 429, we never wait longer than this between two of its requests.
MAX_HOST_DELAY_S = 10.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Response headers worth keeping as evidence; request headers and cookies are never kept.
_KEY_HEADERS = (
    "content-type",
    "content-length",
    "location",
    "retry-after",
    "cf-mitigated",
    "server",
    "refresh",
)
# What to read of a 2xx body: nothing, only an HTML page, or anything (robots.txt, sitemaps).
Read = Literal["none", "html", "any"]
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass(slots=True)
class Outcome:
    """What happened when one URL was requested, redirects included."""

    url: str
    method: str
    status: int | None = None
    final_url: str = ""
    # Each hop as (url, status): the URLs that answered with a redirect.
    chain: list[tuple[str, int]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    error: str | None = None
    loop: bool = False
    attempts: int = 0
    elapsed_ms: int = 0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def is_html(self) -> bool:
        ct = self.content_type.lower()
        return "text/html" in ct or "application/xhtml" in ct

    def evidence(self) -> dict[str, Any]:
        """The facts a finding shows: status, final URL, chain, key headers, attempts, timing."""
        ev: dict[str, Any] = {"status": self.status, "final_url": self.final_url or self.url}
        if self.chain:
            ev["redirects"] = [{"url": u, "status": s} for u, s in self.chain]
        if self.error:
            ev["error"] = self.error
        if self.headers:
            ev["headers"] = dict(self.headers)
        ev["method"] = self.method
        ev["attempts"] = self.attempts
        ev["elapsed_ms"] = self.elapsed_ms
        return ev


class HostGate:
    """Requests in flight to one host, and the pause between two of them."""

    def __init__(self, limit: int, delay_s: float) -> None:
        self.limit = limit
        self.delay_s = delay_s
        self._active = 0
        self._next_at = 0.0
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self._active < self.limit)
            self._active += 1
            wait = 0.0
            if self.delay_s:
                now = time.monotonic()
                wait = max(0.0, self._next_at - now)
                self._next_at = max(now, self._next_at) + self.delay_s
        if wait:
            await asyncio.sleep(wait)

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def slow_down(self) -> None:
        """Halve the concurrency and add a pause: the host told us we were too fast (429)."""
        self.limit = max(1, self.limit // 2)
        self.delay_s = min(max(self.delay_s * 2, BACKOFF_BASE_S), MAX_HOST_DELAY_S)


class Fetcher:
    """Requests URLs through shared clients within global and per-host limits.

    Several clients may be given: httpcore's pool scans every connection for every request,
    which costs more than the request itself beyond a few dozen connections, so a crawl with
    high concurrency spreads its requests over several small pools (the least busy one first).
    """

    def __init__(
        self, clients: list[httpx.AsyncClient], limits: CrawlLimits, stats: dict[str, int | float]
    ) -> None:
        self.clients = clients
        self._busy = [0] * len(clients)
        self.limits = limits
        self.stats = stats
        self._global = asyncio.Semaphore(limits.concurrency)
        self._gates: dict[str, HostGate] = {}

    def gate(self, host: str) -> HostGate:
        g = self._gates.get(host)
        if g is None:
            g = self._gates[host] = HostGate(self.limits.per_host_concurrency, self.limits.delay_s)
        return g

    async def fetch(self, url: str, method: str = "GET", *, read: Read = "none") -> Outcome:
        """Request `url`, following redirects by hand; read the body (capped) as `read` says."""
        out = Outcome(url=url, method=method)
        started = time.monotonic()
        visited = {url}
        current = url
        try:
            for _ in range(MAX_HOPS + 1):
                status, headers, body = await self._with_retries(out, current, method, read)
                out.status, out.headers, out.body, out.final_url = status, headers, body, current
                location = headers.get("location")
                if status not in _REDIRECTS or not location:
                    return out
                out.chain.append((current, status))
                try:
                    current = normalise(resolve(current, location))[0]
                except MalformedURL as e:
                    out.error = f"redirect to a malformed URL {location!r}: {e}"
                    return out
                if current in visited:
                    out.loop = True
                    out.final_url = current
                    return out
                visited.add(current)
            out.loop = True
            return out
        finally:
            out.elapsed_ms = int((time.monotonic() - started) * 1000)

    async def _with_retries(
        self, out: Outcome, url: str, method: str, read: Read
    ) -> tuple[int | None, dict[str, str], bytes | None]:
        gate = self.gate(host_of(url))
        retries = self.limits.retries
        for attempt in range(retries + 1):
            out.attempts += 1
            if attempt:
                self.stats["retries"] += 1
            try:
                status, headers, body = await self._once(gate, url, method, read)
            except _TRANSIENT_ERRORS as e:
                out.error = _describe(e)
                if attempt < retries:
                    await asyncio.sleep(_backoff(attempt))
                    continue
                return None, {}, None
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as e:
                # ValueError: URLs httpx cannot even build a request for (a bad IDNA host...).
                out.error = _describe(e)
                return None, {}, None
            out.error = None
            if status == 429:
                gate.slow_down()
            if (status == 429 or status >= 500) and attempt < retries:
                wait = _retry_after(headers.get("retry-after"), self.limits.max_retry_after_s)
                await asyncio.sleep(_backoff(attempt) if wait is None else wait)
                continue
            return status, headers, body
        raise AssertionError("unreachable: the last attempt always returns")

    async def _once(
        self, gate: HostGate, url: str, method: str, read: Read
    ) -> tuple[int, dict[str, str], bytes | None]:
        async with gate, self._global:
            self.stats["requests"] += 1
            busy = self._busy
            i = busy.index(min(busy))
            busy[i] += 1
            try:
                async with self.clients[i].stream(method, url) as resp:
                    headers = {k: resp.headers[k] for k in _KEY_HEADERS if k in resp.headers}
                    body = None
                    ct = headers.get("content-type", "").lower()
                    html = "text/html" in ct or "application/xhtml" in ct
                    if resp.status_code < 300 and (read == "any" or (read == "html" and html)):
                        body = await _read_capped(resp, self.limits.max_body_bytes)
                    return resp.status_code, headers, body
            finally:
                busy[i] -= 1


async def fetch_leaf(fetcher: Fetcher, url: str, method: str = "HEAD") -> Outcome:
    """Request a URL whose body nobody reads: HEAD, then GET again on any non-2xx answer (as the
    crawler does for links it does not parse), or GET straight away when `method` is "GET"."""
    if method == "GET":
        return await fetcher.fetch(url, "GET")
    out = await fetcher.fetch(url, "HEAD")
    if out.loop or (out.status is not None and not 200 <= out.status < 300):
        again = await fetcher.fetch(url, "GET")
        again.attempts += out.attempts
        return again
    return out


async def _read_capped(resp: httpx.Response, cap: int) -> bytes:
    """The body up to `cap` bytes; the rest is never read (the connection is dropped)."""
    buf = bytearray()
    async for chunk in resp.aiter_bytes():
        buf += chunk
        if len(buf) >= cap:
            del buf[cap:]
            break
    return bytes(buf)


def _backoff(attempt: int) -> float:
    return float(BACKOFF_BASE_S * 2.0**attempt * (0.5 + random.random()))


def _retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped at `cap`."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), cap)


def _describe(e: Exception) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, httpx.TimeoutException):
        return f"timed out ({type(e).__name__})"
    if isinstance(e, httpx.ConnectError):
        return f"could not connect: {text}"
    if isinstance(e, (httpx.ReadError, httpx.RemoteProtocolError)):
        return f"connection dropped: {text}"
    return text

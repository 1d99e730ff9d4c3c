"""Fetching one URL politely: per-host limits and delay, retries with backoff, redirects by hand.

Every redirect hop is requested and recorded here (the client never follows redirects), so a
finding can show the whole chain. Redirects are followed as a browser follows them: up to
`MAX_HOPS` (20, Chromium's and Firefox's limit); a repeated URL or a 21st hop is a loop; a 3xx
without a `Location` is not a redirect at all but a page whose body the browser shows; a redirect
to a scheme other than http(s) (ftp:, file:) or to a malformed `Location` is a dead end, told in
words a shop owner understands.

Every request has a TOTAL deadline, `request_timeout_s`, from sending it to the last byte of the
body read: httpx's own timeouts are per read, so a server that trickles a byte every few seconds
would otherwise keep a request (and the crawl) alive forever.

Only transient failures are retried: timeouts, resets, 5xx and 429, with exponential backoff and
jitter; `Retry-After` is honoured up to `max_retry_after_s`. A 429 slows down the URL that got it,
not its host: the host only pauses for as long as the answer's `Retry-After` asks (capped), once,
without a lasting slowdown, so one throttled URL cannot starve every other page of the site.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

from auditor.config import CrawlLimits
from auditor.crawl.limits import MAX_HOPS
from auditor.crawl.urls import MalformedURL, host_of, normalise, resolve
from auditor.crawl.wire import AiohttpWire, Answer, HttpxWire, Take, WireError

if TYPE_CHECKING:
    import httpx

# The first retry waits about this long, the next twice as long, and so on (tests shrink it).
BACKOFF_BASE_S = 0.5
# 300 is followed when it has a Location (as browsers do); 304 and the rest are not redirects.
_REDIRECTS = frozenset({300, 301, 302, 303, 307, 308})
# What to read of a 2xx body: nothing, only an HTML page, or anything (robots.txt, sitemaps).
Read = Literal["none", "html", "any"]


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
    # Bytes of body seen; only measured where it decides something (a 3xx without Location).
    body_size: int = 0
    # The body was longer than `max_body_bytes` and was cut there.
    truncated: bool = False
    # The last answer was not valid HTTP (a HEAD answered with a body): a GET may still work.
    malformed: bool = False

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
            now = time.monotonic()
            wait = max(0.0, self._next_at - now)
            if self.delay_s:
                self._next_at = max(now, self._next_at) + self.delay_s
        if wait:
            await asyncio.sleep(wait)

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """No request to this host starts in the next `seconds` (a Retry-After it sent)."""
        self._next_at = max(self._next_at, time.monotonic() + seconds)


class Fetcher:
    """Requests URLs over one wire (`auditor.crawl.wire`) within global and per-host limits.

    A list of httpx clients is wrapped in an `HttpxWire` (what the checks sharing an httpx client
    pass); the crawl passes an `AiohttpWire`.
    """

    def __init__(
        self,
        wire: AiohttpWire | HttpxWire | list[httpx.AsyncClient],
        limits: CrawlLimits,
        stats: dict[str, int | float],
    ) -> None:
        self.wire = HttpxWire(wire) if isinstance(wire, list) else wire
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
                answer = await self._with_retries(out, current, method, read)
                out.final_url = current
                if answer is None:
                    out.status, out.headers, out.body = None, {}, None
                    return out
                out.status, out.headers, out.body = answer.status, answer.headers, answer.body
                out.body_size, out.truncated = answer.size, answer.truncated
                location = answer.headers.get("location")
                if answer.status not in _REDIRECTS or location is None:
                    return out
                out.chain.append((current, answer.status))
                nxt = _redirect_target(current, location)
                if isinstance(nxt, _Refused):
                    out.error = nxt.why
                    return out
                current = nxt
                if current in visited:
                    out.loop = True
                    out.final_url = current
                    return out
                visited.add(current)
            out.loop = True
            return out
        finally:
            out.elapsed_ms = int((time.monotonic() - started) * 1000)

    async def _with_retries(self, out: Outcome, url: str, method: str, read: Read) -> Answer | None:
        gate = self.gate(host_of(url))
        retries = self.limits.retries
        for attempt in range(retries + 1):
            out.attempts += 1
            if attempt:
                self.stats["retries"] += 1
            try:
                answer = await self._once(gate, url, method, read)
            except TimeoutError:
                out.error = (
                    f"timed out: no complete answer within {self.limits.request_timeout_s:g} s "
                    "(request_timeout_s)"
                )
            except WireError as e:
                out.error, out.malformed = str(e), e.malformed
                if not e.transient:
                    return None
            else:
                out.error, out.malformed = None, False
                status = answer.status
                if status == 429 or status >= 500:
                    wait = _retry_after(answer.headers.get("retry-after"), self.limits.max_retry_after_s)
                    if status == 429 and wait:
                        gate.pause(wait)
                    if attempt < retries:
                        await asyncio.sleep(_backoff(attempt) if wait is None else wait)
                        continue
                return answer
            if attempt < retries:
                await asyncio.sleep(_backoff(attempt))
        return None

    async def _once(self, gate: HostGate, url: str, method: str, read: Read) -> Answer:
        async with gate, self._global:
            self.stats["requests"] += 1
            # The total deadline: headers, redirect and body together (see the module's docstring).
            async with asyncio.timeout(self.limits.request_timeout_s):
                return await self.wire.exchange(url, method, _decider(read), self.limits.max_body_bytes)


def _decider(read: Read) -> Callable[[int, dict[str, str]], Take]:
    """What to do with a body, given what the caller wants read (`read`) and the answer's head."""

    def decide(status: int, headers: dict[str, str]) -> Take:
        ct = headers.get("content-type", "").lower()
        # A crawled page may be a stylesheet (its url()s are read), hence text/css.
        html = "text/html" in ct or "application/xhtml" in ct or "text/css" in ct
        wanted = read == "any" or (read == "html" and html)
        # A 3xx a browser cannot follow shows its body instead: whether there is one decides.
        shown = 300 <= status < 400 and (status not in _REDIRECTS or "location" not in headers)
        if (status < 300 or shown) and wanted:
            return "body"
        return "size" if shown else "none"

    return decide


@dataclass(frozen=True, slots=True)
class _Refused:
    why: str


def _redirect_target(current: str, location: str) -> str | _Refused:
    """Where a redirect from `current` to `location` leads, or why a browser would not go there."""
    if not location.strip():
        return _Refused("the redirect's Location header is empty, so it leads nowhere")
    try:
        target = normalise(resolve(current, location))[0]
    except MalformedURL as e:
        return _Refused(f"the redirect's Location {location!r} is not a valid URL ({e})")
    if target.startswith(("http://", "https://")):
        return target
    scheme = target.split(":", 1)[0].lower()
    return _Refused(
        f"it redirects to a {scheme}: address ({target[:200]}), which a browser will not open "
        "from a web page. Point the redirect at an http(s) page"
    )


async def fetch_leaf(fetcher: Fetcher, url: str, method: str = "HEAD") -> Outcome:
    """Request a URL whose body nobody reads: HEAD, then GET again on any non-2xx answer or an
    answer that is not valid HTTP (as the crawler does for links it does not parse), or GET
    straight away when `method` is "GET"."""
    if method == "GET":
        return await fetcher.fetch(url, "GET")
    out = await fetcher.fetch(url, "HEAD")
    if out.loop or out.malformed or (out.status is not None and not 200 <= out.status < 300):
        again = await fetcher.fetch(url, "GET")
        again.attempts += out.attempts
        return again
    return out


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
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)

"""Pages as a customer's browser shows them: load each in Chromium, let it settle, read the DOM.

`render_pages(urls, browser=..., settings=..., concurrency=...)` loads pages in fresh browser
contexts (at most `concurrency` at once) and returns one `RenderedPage` per URL, in order:

- `links`: every link, image and resource in the *rendered* DOM (after scripts ran, the network
  went idle, the page was scrolled to the bottom to trigger lazy loading), as (absolute URL,
  element) pairs with the crawler's element names (`a[href]`, `img[src]`, `script[src]`, ...).
  Lazy images' `data-src` / `data-srcset` (and `data-lazy-src`, `data-original`) count as
  `img[src]` / `img[srcset]`: a dead one is a dead image once it scrolls into view.
- `failed_requests`: requests that answered 4xx/5xx or failed (aborted, refused, DNS...),
  `failed_by_host()` groups them by host.
- `console_errors`: `console.error(...)` and the browser's own error messages, except
  "Failed to load resource" (already a failed request) and mixed-content ones (below).
- `exceptions`: uncaught exceptions (and unhandled promise rejections), with the script URL they
  came from when the stack names one.
- `mixed_content`: on an https page, the subresources it asks for over plain http (whether the
  browser blocked them or loaded them).
- `error`: set when the page could not be loaded at all (then the lists hold what was seen).

`documents` (optional) maps a URL to an HTTP response already fetched (`Document`): the browser
then gets the page itself from it instead of requesting it a second time.

The crawl check uses this through `RenderHook` (one hook in `auditor.crawl.engine.Crawl`): the
links a rendered page has and its HTML did not go into the crawl's frontier, so the HTTP crawler
checks each URL once, and the page's failed requests, script errors and mixed content become
findings (see `page_findings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response, Route

# Headers of an already-fetched document that no longer describe the (decoded) body we hand over.
_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection"})
# The browser's own console line for every failed subresource: a failed request already says it.
_FAILED_LOAD = "Failed to load resource"
_MIXED = re.compile(r"Mixed Content: .*?requested an insecure (\w[\w ]*?) '([^']+)'", re.S)
_STACK_URL = re.compile(r"(https?://[^\s)]+?):\d+:\d+")
MAX_ITEMS = 50  # per page and list: a page logging in a loop must not fill the memory

# Runs in the page: every link and resource of the rendered DOM, resolved by the browser itself.
_DOM_LINKS = r"""
() => {
  const out = [];
  const base = document.baseURI;
  const abs = (v) => { try { return new URL(v.trim(), base).href; } catch (e) { return null; } };
  const add = (v, el) => { if (v && v.trim()) { const u = abs(v); if (u) out.push([u, el]); } };
  const set = (v, el) => {
    if (!v) return;
    for (const part of v.split(/,\s+/)) { add(part.trim().split(/\s+/)[0], el); }
  };
  for (const a of document.querySelectorAll('a[href]')) add(a.getAttribute('href'), 'a[href]');
  for (const a of document.querySelectorAll('area[href]')) add(a.getAttribute('href'), 'area[href]');
  for (const i of document.querySelectorAll('img')) {
    add(i.getAttribute('src'), 'img[src]');
    set(i.getAttribute('srcset'), 'img[srcset]');
    for (const k of ['data-src', 'data-lazy-src', 'data-original']) add(i.getAttribute(k), 'img[src]');
    set(i.getAttribute('data-srcset'), 'img[srcset]');
  }
  for (const s of document.querySelectorAll('source')) {
    set(s.getAttribute('srcset'), 'source[srcset]');
    set(s.getAttribute('data-srcset'), 'source[srcset]');
    add(s.getAttribute('src'), 'source[src]');
  }
  for (const s of document.querySelectorAll('script[src]')) add(s.getAttribute('src'), 'script[src]');
  for (const l of document.querySelectorAll('link[href]')) {
    const rel = (l.getAttribute('rel') || '').toLowerCase().split(/\s+/);
    if (rel.includes('stylesheet')) add(l.getAttribute('href'), 'link[rel=stylesheet]');
    else if (rel.includes('icon')) add(l.getAttribute('href'), 'link[rel=icon]');
  }
  for (const f of document.querySelectorAll('iframe[src]')) add(f.getAttribute('src'), 'iframe[src]');
  for (const v of document.querySelectorAll('video[poster]')) add(v.getAttribute('poster'), 'video[poster]');
  for (const m of document.querySelectorAll('video[src], audio[src]')) {
    add(m.getAttribute('src'), m.tagName.toLowerCase() + '[src]');
  }
  return [location.href, out];
}
"""

# Runs in the page: scroll to the bottom a screen at a time, so lazy loaders see every image.
_SCROLL = r"""
async (maxSteps) => {
  const pause = () => new Promise((r) => setTimeout(r, 50));
  let y = 0;
  for (let i = 0; i < maxSteps; i++) {
    const h = Math.max(document.body ? document.body.scrollHeight : 0, document.documentElement.scrollHeight);
    if (y >= h) break;
    y += window.innerHeight;
    window.scrollTo(0, y);
    await pause();
  }
  window.scrollTo(0, 0);
}
"""

# Subresources loaded by an https page: the ones that are mixed content when their URL is http:.
_SUBRESOURCES = frozenset(
    {
        "img[src]", "img[srcset]", "source[srcset]", "source[src]", "script[src]", "link[rel=stylesheet]",
        "link[rel=icon]", "iframe[src]", "video[poster]", "video[src]", "audio[src]",
    }
)  # fmt: skip


@dataclass(frozen=True)
class RenderSettings:
    """How pages are loaded and when a page counts as settled."""

    # The page's own load (the `load` event) at most this long.
    navigation_timeout_s: float = 20.0
    # After `load`, wait for the network to be idle (`quiet_s` without requests) at most this long:
    # a page that polls or streams never goes idle, and is read when the cap is reached.
    settle_timeout_s: float = 5.0
    # Settled: no request in flight for this long (timers that fetch later than this are missed).
    quiet_s: float = 0.25
    # Scroll down a screen at a time (at most this many screens) to trigger lazy loading; 0: not.
    scroll_steps: int = 20
    user_agent: str | None = None
    # Headers sent with every request to `header_host` (the site's own host only).
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    header_host: str | None = None
    # Load pages whose certificate does not verify (a staging shop with a self-signed one).
    ignore_https_errors: bool = False
    viewport: tuple[int, int] = (1280, 900)


@dataclass(frozen=True)
class Document:
    """An HTTP response the crawler already has: the browser is given it instead of a request."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass
class FailedRequest:
    url: str
    host: str
    method: str
    resource_type: str  # the browser's: document, script, stylesheet, image, fetch, xhr, font...
    status: int | None = None  # None: no answer (see `error`)
    error: str | None = None  # net::ERR_ABORTED, net::ERR_CONNECTION_REFUSED, ...

    @property
    def reason(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else (self.error or "failed")


@dataclass
class ConsoleError:
    text: str
    url: str | None = None  # the script (or page) that logged it, when the browser says


@dataclass
class PageException:
    message: str
    url: str | None = None  # the script the exception came from (first URL of its stack)
    stack: str = ""


@dataclass
class MixedContent:
    url: str
    element: str  # the element (DOM scan) or the browser's word (console: script, image...)
    blocked: bool | None = None  # True when the browser said it blocked it; None: not known


@dataclass
class RenderedPage:
    url: str
    final_url: str = ""
    status: int | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    failed_requests: list[FailedRequest] = field(default_factory=list)
    console_errors: list[ConsoleError] = field(default_factory=list)
    exceptions: list[PageException] = field(default_factory=list)
    mixed_content: list[MixedContent] = field(default_factory=list)
    error: str | None = None
    elapsed_ms: int = 0

    def failed_by_host(self) -> dict[str, list[FailedRequest]]:
        out: dict[str, list[FailedRequest]] = {}
        for r in self.failed_requests:
            out.setdefault(r.host, []).append(r)
        return out


def host_of(url: str) -> str:
    """The host (with a non-default port) of `url`, lower-cased; '' if it has none."""
    try:
        return urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
    except ValueError:
        return ""


async def render_pages(
    urls: Iterable[str],
    *,
    browser: Browser,
    settings: RenderSettings | None = None,
    concurrency: int = 4,
    documents: Mapping[str, Document] | None = None,
) -> list[RenderedPage]:
    """Render every URL (at most `concurrency` at once, each in its own context); never raises
    for a page that fails to load (its `error` says why)."""
    docs = documents or {}
    pool = RenderPool(browser, settings or RenderSettings(), concurrency)
    try:
        return list(await asyncio.gather(*(pool.render(u, docs.get(u)) for u in urls)))
    finally:
        await pool.close()


class RenderPool:
    """At most `size` pages rendered at once, each in a browser context of its own; a page is
    kept open for the next URL (a new renderer costs ~0.2 s) with its cookies cleared, and
    replaced when a render failed."""

    def __init__(self, browser: Browser, settings: RenderSettings, size: int = 2) -> None:
        self.browser = browser
        self.settings = settings
        self._limit = asyncio.Semaphore(max(1, size))
        self._idle: list[tuple[Page, bool]] = []
        self._open: set[BrowserContext] = set()

    async def render(self, url: str, document: Document | None = None) -> RenderedPage:
        """Render `url` (see `render_page`); never raises for the page's own failures."""
        from playwright.async_api import Error as PlaywrightError

        local = on_local_network(url)
        async with self._limit:
            started = time.monotonic()
            result = RenderedPage(url=url)
            page = None
            while self._idle:
                candidate, was_local = self._idle.pop()
                if was_local == local and not candidate.is_closed():
                    page = candidate
                    break
                await self._discard(candidate)
            if page is None:
                context = await _new_context(self.browser, self.settings, url)
                self._open.add(context)
                page = await context.new_page()
            keep = False
            try:
                await _watch_and_load(page, url, self.settings, document, result)
                keep = result.error is None
            except PlaywrightError as e:
                result.error = _first_line(e)
            finally:
                result.elapsed_ms = int((time.monotonic() - started) * 1000)
                if keep:
                    try:
                        await page.context.clear_cookies()
                        self._idle.append((page, local))
                    except PlaywrightError:
                        await self._discard(page)
                else:
                    await self._discard(page)
            return result

    async def _discard(self, page: Page) -> None:
        from playwright.async_api import Error as PlaywrightError

        context = page.context
        self._open.discard(context)
        with contextlib.suppress(PlaywrightError):
            await context.close()

    async def close(self) -> None:
        """Close every context still open (safe to call twice)."""
        from playwright.async_api import Error as PlaywrightError

        self._idle.clear()
        for context in list(self._open):
            with contextlib.suppress(PlaywrightError):
                await context.close()
        self._open.clear()


async def render_page(
    browser: Browser, url: str, settings: RenderSettings, document: Document | None = None
) -> RenderedPage:
    """Load one page in a fresh context and read what it shows; see the module docstring."""
    from playwright.async_api import Error as PlaywrightError

    started = time.monotonic()
    result = RenderedPage(url=url)
    context = await _new_context(browser, settings, url)
    try:
        await _watch_and_load(await context.new_page(), url, settings, document, result)
    except PlaywrightError as e:
        result.error = _first_line(e)
    finally:
        with contextlib.suppress(PlaywrightError):  # the browser went away: what was seen is kept
            await context.close()
        result.elapsed_ms = int((time.monotonic() - started) * 1000)
    return result


async def _new_context(browser: Browser, settings: RenderSettings, url: str) -> BrowserContext:
    kwargs: dict[str, Any] = {
        "ignore_https_errors": settings.ignore_https_errors,
        "viewport": {"width": settings.viewport[0], "height": settings.viewport[1]},
        "service_workers": "block",
    }
    if settings.user_agent:
        kwargs["user_agent"] = settings.user_agent
    context = await browser.new_context(**kwargs)
    if settings.extra_headers and settings.header_host:
        headers = dict(settings.extra_headers)
        own = settings.header_host

        async def add_headers(route: Route) -> None:
            if host_of(route.request.url) == own:
                await route.continue_(headers={**route.request.headers, **headers})
            else:
                await route.fallback()

        await context.route("**/*", add_headers)
    if on_local_network(url):
        # A page served from the crawler's copy has no address, so Chromium counts it as public
        # and blocks its requests to loopback and private hosts (Local Network Access): a shop on
        # a private network (staging, the demo) would show failures its customers never meet.
        # Public pages keep the block (a hostile page must not probe the auditor's network).
        with contextlib.suppress(Exception):
            await context.grant_permissions(["local-network-access"])
    return context


def on_local_network(url: str) -> bool:
    """Whether `url`'s host is loopback or private (an IP literal, or localhost)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


async def _watch_and_load(
    page: Page,
    url: str,
    settings: RenderSettings,
    document: Document | None,
    result: RenderedPage,
) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    watching = True
    main_frame = page.main_frame

    def on_response(response: Response) -> None:
        if not watching or response.status < 400:
            return
        req = response.request
        if req.frame == main_frame and req.is_navigation_request() and req.resource_type == "document":
            return  # the page itself: its status is the page's, the crawler judges it
        _add_failed(result, req, response.status, None)

    def on_failed(request: Request) -> None:
        if not watching:
            return
        if request.frame == main_frame and request.is_navigation_request():
            return
        _add_failed(result, request, None, request.failure or "failed")

    def on_console(msg: ConsoleMessage) -> None:
        if not watching or msg.type not in ("error", "warning"):
            return
        text = msg.text
        m = _MIXED.search(text)
        if m:  # an error when the browser blocked it, a warning when it loaded it anyway
            _add_mixed(result, m.group(2), m.group(1).strip(), "has been blocked" in text)
            return
        if msg.type != "error" or text.startswith(_FAILED_LOAD):
            return
        if len(result.console_errors) < MAX_ITEMS:
            loc = msg.location.get("url") if msg.location else None
            result.console_errors.append(ConsoleError(text[:2000], loc or None))

    def on_page_error(error: Any) -> None:
        if not watching or len(result.exceptions) >= MAX_ITEMS:
            return
        message = str(getattr(error, "message", "") or error)
        stack = str(getattr(error, "stack", "") or "")
        m = _STACK_URL.search(stack)
        result.exceptions.append(PageException(message[:2000], m.group(1) if m else None, stack[:4000]))

    network = _Network()
    handlers: list[tuple[str, Any]] = [
        ("response", on_response),
        ("requestfailed", on_failed),
        ("console", on_console),
        ("pageerror", on_page_error),
        ("request", network.started),
        ("requestfinished", network.ended),
        ("requestfailed", network.ended),
    ]
    for event, handler in handlers:
        page.on(event, handler)  # type: ignore[call-overload]

    if document is not None:
        served = False

        async def serve(route: Route) -> None:
            nonlocal served
            if served or not route.request.is_navigation_request():
                await route.fallback()
                return
            served = True
            headers = {k: v for k, v in document.headers.items() if k.lower() not in _HOP_HEADERS}
            await route.fulfill(status=document.status, headers=headers, body=document.body)

        await page.route(url, serve)

    try:
        response = await page.goto(url, wait_until="load", timeout=settings.navigation_timeout_s * 1000)
        result.status = response.status if response is not None else None
        await network.settle(settings.settle_timeout_s, settings.quiet_s)
        if settings.scroll_steps:
            before = network.count
            await page.evaluate(_SCROLL, settings.scroll_steps)
            await asyncio.sleep(0.05)
            if network.count != before or network.in_flight:
                await network.settle(min(settings.settle_timeout_s, 2.0), settings.quiet_s)
        final, links = await page.evaluate(_DOM_LINKS)
    except PlaywrightTimeout as e:
        result.error = _first_line(e)
        final, links = page.url, []
    finally:
        # The page may render the next URL (`RenderPool`): this one's watchers go.
        watching = False
        for event, handler in handlers:
            page.remove_listener(event, handler)
        if document is not None:
            with contextlib.suppress(Exception):
                await page.unroute(url, serve)
    result.final_url = str(final)
    seen: set[tuple[str, str]] = set()
    for u, el in links:
        if isinstance(u, str) and isinstance(el, str) and (u, el) not in seen:
            seen.add((u, el))
            result.links.append((u, el))
    if result.final_url.startswith("https:"):
        for u, el in result.links:
            if el in _SUBRESOURCES and u.startswith("http:"):
                _add_mixed(result, u, el, None)


class _Network:
    """The page's requests in flight, to tell when it has settled."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.count = 0
        self.last = time.monotonic()

    def started(self, _request: Any) -> None:
        self.in_flight += 1
        self.count += 1
        self.last = time.monotonic()

    def ended(self, _request: Any) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.last = time.monotonic()

    async def settle(self, cap_s: float, quiet_s: float) -> None:
        """Wait until no request has been in flight for `quiet_s`, at most `cap_s` (a page that
        polls or streams never settles: it is read as it is at the cap)."""
        deadline = time.monotonic() + cap_s
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            if self.in_flight == 0 and now - self.last >= quiet_s:
                return
            await asyncio.sleep(min(0.05, max(0.0, deadline - now)))


def _add_failed(result: RenderedPage, req: Request, status: int | None, error: str | None) -> None:
    url = req.url
    if not url.startswith(("http://", "https://")) or len(result.failed_requests) >= MAX_ITEMS:
        return
    if any(r.url == url and r.method == req.method for r in result.failed_requests):
        return
    failed = FailedRequest(url, host_of(url), req.method, req.resource_type, status, error)
    result.failed_requests.append(failed)


def _add_mixed(result: RenderedPage, url: str, element: str, blocked: bool | None) -> None:
    for m in result.mixed_content:
        if m.url == url:
            if blocked is not None:
                m.blocked = blocked
            return
    if len(result.mixed_content) < MAX_ITEMS:
        result.mixed_content.append(MixedContent(url, element, blocked))


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__

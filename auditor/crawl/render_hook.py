"""The rendered crawl: each page the HTTP crawl parsed is also loaded in Chromium.

`RenderHook` is the `Crawl.page_hook` of a `crawl` check with `render = true`. For each HTML page:

- the page is rendered (`auditor.crawl.render.render_page`) with the HTML the crawler already
  fetched served to the browser, so the page itself is not requested twice;
- the links, images and resources of the rendered DOM that the HTML did not have go into the
  crawl's frontier, where the HTTP crawler checks each URL once, like any other link (a dead link
  that only JavaScript inserts is a `broken_link`, a dead lazy image a `broken_image`);
- what the browser met becomes findings, one per problem with every page it shows on:

  - `page_request_failed`: a request of the page answered 4xx/5xx or failed (refused, DNS,
    aborted), when it is not a link the crawl checks itself (an `<img>`, a script: those are
    `broken_image` / `broken_resource`). On the site's own host: error (aborted: warning). On
    another host: warning, one finding per host ("third party": a payment or analytics script).
  - `page_script_error`: an uncaught exception. From the site's own scripts (or inline ones):
    error; from another host's script: warning, one finding per host and message.
  - `page_console_error`: `console.error` and the browser's error messages: warning.
  - `mixed_content`: an https page loading http subresources: error for scripts, stylesheets and
    frames (browsers block them), warning for images and media.
  - `page_render_failed`: the page loaded over HTTP but not in the browser (its `load` event
    never came, the renderer crashed): warning.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from auditor.crawl.extract import extract
from auditor.crawl.render import Document, RenderedPage, RenderPool, RenderSettings
from auditor.crawl.urls import MalformedURL, absolute, host_of, resolve
from auditor.results import Finding, Severity

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from auditor.crawl.engine import Crawl
    from auditor.crawl.fetch import Outcome
    from auditor.crawl.frontier import Target

log = logging.getLogger("auditor.crawl.render")

KINDS = (
    "page_request_failed",
    "page_script_error",
    "page_console_error",
    "mixed_content",
    "page_render_failed",
)
_ACTIVE = frozenset({"script[src]", "link[rel=stylesheet]", "iframe[src]", "script", "stylesheet", "frame"})
_EXAMPLES = 10
# After this many pages the browser could not render in a row, rendering stops (the crawl goes on).
_GIVE_UP = 5


class RenderHook:
    """Render the crawl's pages, at most `concurrency` at once, in one browser."""

    def __init__(self, browser: Browser, settings: RenderSettings, concurrency: int) -> None:
        self.browser = browser
        self.pool = RenderPool(browser, settings, concurrency)
        # Why rendering stopped part-way (the browser went away), for the check's message.
        self.stopped: str | None = None
        self._failures_in_row = 0

    async def __call__(self, crawl: Crawl, t: Target, out: Outcome, body: bytes) -> None:
        if self.stopped is not None:
            return
        stats = crawl.stats
        for key in ("rendered_pages", "rendered_links", "render_failed"):
            stats.setdefault(key, 0)
        page_url = out.final_url or t.url
        doc = None
        if out.status == 200 and not out.truncated:
            doc = Document(out.status, out.headers, body)
        try:
            rp = await self.pool.render(page_url, doc)
        except Exception as e:  # the browser itself failed (closed, crashed): no more rendering
            self._failed(stats, f"{type(e).__name__}: {e}")
            return
        if rp.error is not None and not rp.links:
            self._failed(stats, rp.error)
            if not self.browser.is_connected():
                return
        else:
            self._failures_in_row = 0
        stats["rendered_pages"] += 1
        self._offer(crawl, t, out, body, page_url, rp)
        page_findings(crawl, rp, page_url)

    async def close(self) -> None:
        """Close the pages kept open between renders."""
        await self.pool.close()

    def _failed(self, stats: dict[str, int | float], why: str) -> None:
        stats["render_failed"] += 1
        self._failures_in_row += 1
        if self._failures_in_row >= _GIVE_UP or not self.browser.is_connected():
            self.stopped = why.splitlines()[0] if why else "the browser failed"
            log.warning("rendering stopped: %s", self.stopped)

    def _offer(
        self, crawl: Crawl, t: Target, out: Outcome, body: bytes, page_url: str, rp: RenderedPage
    ) -> None:
        """Offer the rendered DOM's links the page's HTML did not have to the crawl's frontier."""
        page = extract(body, out.content_type, targets=False)
        try:
            base = resolve(page_url, page.base) if page.base else page_url
        except MalformedURL:
            base = page_url
        static: set[str] = set()
        for raw, _ in page.links:
            try:
                static.add(absolute(base, raw, page.encoding)[0])
            except (MalformedURL, ValueError):
                continue
        for url, element in rp.links:
            try:
                key = absolute(page_url, url)[0]
            except (MalformedURL, ValueError):
                continue
            if key in static or not key.startswith(("http://", "https://")):
                continue
            static.add(key)
            crawl.stats["rendered_links"] += 1
            crawl._link(url, element, page_url, page_url, t.depth + 1, "", "")


def page_findings(crawl: Crawl, rp: RenderedPage, page_url: str) -> None:
    """Turn what the browser met on one page into the crawl's findings (see the module docstring)."""
    own = crawl.host
    checked: set[str] = set()
    for url, _ in rp.links:
        try:
            checked.add(absolute(page_url, url)[0])
        except (MalformedURL, ValueError):
            continue

    for r in rp.failed_requests:
        try:
            key = absolute(page_url, r.url)[0]
        except (MalformedURL, ValueError):
            key = r.url
        if key in checked:
            continue  # a link the crawl checks: its own finding (broken_image...) says it
        host = host_of(key)
        aborted = r.status is None and "ABORTED" in (r.error or "").upper()
        if host == own:
            sev = Severity.WARNING if aborted else Severity.ERROR
            msg = (
                f"{r.method} {r.url} ({r.resource_type}) failed in the browser with {r.reason} on "
                f"{page_url}: part of the page may not work for customers. Fix or remove the request."
            )
            _seen(crawl, "page_request_failed", key, "", page_url, sev, msg, _request_ev(r))
        else:
            msg = (
                f"Requests to the third-party host {host} fail on the site's pages (e.g. {r.method} "
                f"{r.url}: {r.reason}, on {page_url}). Check that provider's script or remove it."
            )
            f = _seen(
                crawl, "page_request_failed", _origin(key), host, page_url, Severity.WARNING, msg,
                {**_request_ev(r), "host": host, "third_party": True, "examples": []},
            )  # fmt: skip
            _example(f, f"{r.method} {r.url}: {r.reason}")

    for e in rp.exceptions:
        script = e.url or page_url
        host = host_of(script) if script.startswith(("http://", "https://")) else own
        text = e.message.splitlines()[0][:300] if e.message else "(no message)"
        if host == own or e.url is None:
            msg = (
                f"A script on {page_url} throws an uncaught exception: {text!r} (from {script}). "
                "What it was doing does not happen for customers; fix the script."
            )
            ev: dict[str, Any] = {"message": text, "script": e.url, "stack": e.stack[:2000]}
            _seen(
                crawl, "page_script_error", script.split("#", 1)[0], text, page_url, Severity.ERROR, msg, ev
            )
        else:
            msg = (
                f"A script from the third-party host {host} throws an uncaught exception on the "
                f"site's pages: {text!r} ({script}, on {page_url}). Check that provider's set-up "
                "or stop loading its script."
            )
            ev = {"message": text, "script": script, "host": host, "third_party": True}
            _seen(
                crawl,
                "page_script_error",
                _origin(script),
                f"{host} {text}",
                page_url,
                Severity.WARNING,
                msg,
                ev,
            )

    for c in rp.console_errors:
        text = c.text.splitlines()[0][:300] if c.text else "(empty)"
        where = c.url or page_url
        host = host_of(where) if where.startswith(("http://", "https://")) else own
        third = host != own
        msg = (
            f"The browser console shows an error on {page_url}: {text!r}"
            + (f" (logged by {host}'s script)" if third else "")
            + ". Look at what fails on that page."
        )
        url = _origin(where) if third else page_url
        ev = {"message": text, "logged_by": c.url, "host": host, "third_party": third}
        _seen(crawl, "page_console_error", url, text, page_url, Severity.WARNING, msg, ev)

    for m in rp.mixed_content:
        active = m.element in _ACTIVE
        sev = Severity.ERROR if active else Severity.WARNING
        what = "is blocked by browsers" if active or m.blocked else "shows the page as not secure"
        msg = (
            f"The https page {page_url} loads {m.url} over plain http ({m.element}): it {what}. "
            "Load it over https."
        )
        ev = {"element": m.element, "blocked": m.blocked, "active": active}
        _seen(crawl, "mixed_content", m.url, "", page_url, sev, msg, ev)

    if rp.error is not None:
        msg = (
            f"{page_url} loads over HTTP but not in the browser: {rp.error}. Customers may see a "
            "page that never finishes loading."
        )
        _seen(crawl, "page_render_failed", page_url, "", page_url, Severity.WARNING, msg, {"error": rp.error})


def _seen(
    crawl: Crawl,
    kind: str,
    url: str,
    key: str,
    source: str,
    severity: Severity,
    msg: str,
    evidence: dict[str, Any],
) -> Finding:
    """The crawl's finding for (kind, url, key), created on its first page, with `source` added."""

    def make() -> Finding:
        ev = {"verdict": "broken" if severity == Severity.ERROR else "ok", **evidence}
        return Finding(
            kind=kind, severity=severity, url=url, message=msg, element="page", evidence=ev, key=key
        )

    crawl._seen_on((kind, url, key), source, make)
    return crawl.findings[(kind, url, key)]


def _request_ev(r: Any) -> dict[str, Any]:
    return {
        "request": r.url,
        "method": r.method,
        "resource_type": r.resource_type,
        "status": r.status,
        "error": r.error,
    }


def _example(f: Finding, line: str) -> None:
    examples = f.evidence.setdefault("examples", [])
    if isinstance(examples, list) and line not in examples and len(examples) < _EXAMPLES:
        examples.append(line)


def _origin(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else "http"
    return f"{scheme}://{host_of(url)}/"

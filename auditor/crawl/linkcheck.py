"""Checking a given list of URLs (an email's links, an account page's downloads) like the crawler does.

The crawler finds its URLs itself; the email, login and delivery checks already have theirs. This
module gives them the crawler's judgement without its crawl: the same `Fetcher` (per-host limits,
retries with backoff, `Retry-After`, every redirect hop recorded), the same HEAD-then-GET rule, and
the same verdicts (`auditor.crawl.verdict`), so a link is "broken" in an email exactly when it
would be on a page. Each distinct URL is requested once, however many times it is listed.

    verdicts = await check_urls(message_urls, site=ctx.site)
    for url, v in verdicts.items():
        if v.broken:
            ...  # v.describe() -> "HTTP 404", "HTTP 301 -> 404", "timed out (ReadTimeout)"
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from auditor.config import CrawlLimits, SiteConfig
from auditor.crawl.fetch import Fetcher, Outcome, fetch_leaf
from auditor.crawl.limits import MAX_HOPS
from auditor.crawl.urls import MalformedURL, host_of, normalise
from auditor.crawl.verdict import verdict
from auditor.http import build_client

# Verdicts a customer cannot get past; `blocked`, `rate_limited` and `redirect` are warnings at most.
BROKEN = frozenset({"broken", "loop", "malformed"})
_STATS = ("requests", "retries")


@dataclass(frozen=True)
class LinkVerdict:
    """The verdict on one URL: a crawler verdict (`ok`, `redirect`, `broken`, `blocked`,
    `rate_limited`, `loop`) or `malformed` (not an absolute http(s) URL, never requested).

    `outcome` holds the facts (status, final URL, redirect chain, key headers such as content-type
    and content-length, attempts, timing); None only for `malformed`.
    """

    url: str
    verdict: str
    outcome: Outcome | None = None
    problem: str = ""

    @property
    def broken(self) -> bool:
        """Whether a customer following the link reaches nothing (dead, looping, or unusable URL)."""
        return self.verdict in BROKEN

    @property
    def status(self) -> int | None:
        """The final HTTP status, or None when no response came (or the URL was malformed)."""
        return self.outcome.status if self.outcome else None

    @property
    def final_url(self) -> str:
        return (self.outcome.final_url or self.url) if self.outcome else self.url

    def describe(self) -> str:
        """What happened, in a few words: "HTTP 404", "HTTP 302 -> 404", "redirect loop", "timed out"."""
        out = self.outcome
        if out is None:
            return self.problem or "not a URL that can be opened"
        if self.problem:
            return self.problem
        if out.loop:
            return "redirect loop"
        if out.status is None:
            return out.error or "no response"
        hops = " -> ".join(str(s) for _, s in out.chain)
        return f"HTTP {hops} -> {out.status}" if hops else f"HTTP {out.status}"

    def evidence(self) -> dict[str, Any]:
        """The facts a finding shows (as the crawler's findings show them) plus the verdict."""
        ev: dict[str, Any] = self.outcome.evidence() if self.outcome else {"status": None}
        ev["verdict"] = self.verdict
        if self.problem:
            ev["problem"] = self.problem
        return ev


async def check_urls(
    urls: Iterable[str],
    *,
    site: SiteConfig,
    limits: CrawlLimits | None = None,
    client: httpx.AsyncClient | None = None,
    max_redirects: int = MAX_HOPS,
    method: Literal["HEAD", "GET"] = "HEAD",
) -> dict[str, LinkVerdict]:
    """The verdict on every URL of `urls`, keyed by the URL as given (fragments are ignored).

    `site` decides what is internal (its base URL's host and its `hosts`: a 401/403 there is
    `broken`, elsewhere `blocked`) and which headers and cookies go where. `limits` default to the
    site's crawl limits (concurrency, timeout, retries). `client` lets a caller use its own
    session (cookies of a logged-in customer); otherwise one is built and closed here.
    `method="HEAD"` asks HEAD first and GET again on any non-2xx answer (many servers answer HEAD
    wrongly); `"GET"` only GETs (a download counter, a server that ignores HEAD). More than
    `max_redirects` hops (at most 10, the crawler's own cap) is judged a `loop`.
    """
    if not 0 <= max_redirects <= MAX_HOPS:
        raise ValueError(f"max_redirects must be between 0 and {MAX_HOPS}, got {max_redirects}")
    lim = limits or site.crawl
    internal = {h.lower() for h in site.host_settings()}
    given = list(dict.fromkeys(urls))
    canonical: dict[str, str] = {}
    results: dict[str, LinkVerdict] = {}
    for url in given:
        problem = _unfetchable(url)
        if problem:
            results[url] = LinkVerdict(url, "malformed", problem=problem)
        else:
            canonical[url] = normalise(url.strip())[0]
    async with AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(build_client(site, lim))
        fetcher = Fetcher([client], lim, dict.fromkeys(_STATS, 0))
        unique = list(dict.fromkeys(canonical.values()))
        judged = await asyncio.gather(
            *(_judge(fetcher, u, method, host_of(u) in internal, max_redirects) for u in unique)
        )
    by_canonical = dict(zip(unique, judged, strict=True))
    for url, canon in canonical.items():
        v = by_canonical[canon]
        results[url] = LinkVerdict(url, v.verdict, v.outcome, v.problem)
    return {url: results[url] for url in given}


def _unfetchable(url: str) -> str:
    """Why `url` cannot be requested at all ("" when it can)."""
    raw = url.strip()
    if not raw.lower().startswith(("http://", "https://")):
        return f"not an absolute http(s) URL: {raw!r}"
    try:
        normalise(raw)
    except MalformedURL as e:
        return f"malformed URL ({e})"
    return ""


async def _judge(fetcher: Fetcher, url: str, method: str, internal: bool, max_redirects: int) -> LinkVerdict:
    out = await fetch_leaf(fetcher, url, method)
    if not out.loop and len(out.chain) > max_redirects:
        return LinkVerdict(url, "loop", out, f"more than {max_redirects} redirects")
    return LinkVerdict(url, verdict(out, internal=internal), out)

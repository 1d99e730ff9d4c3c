"""Crawling one area of a site (a customer's account) with a logged-in session.

The account area is crawled with the crawler's own parts: the `Fetcher` (limits, retries,
redirects recorded hop by hop), `extract` (every link a browser would load) and `linkcheck` (the
same verdicts as a crawl). What differs from a site crawl: requests carry the customer's session
cookies, only pages under the area's paths are parsed, robots.txt is not asked (the account is our
own dummy customer's), and logout/sign-out links are never requested, so the session survives the
crawl. Forms are never submitted: `extract` does not read form actions at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from auditor.config import CrawlLimits, SiteConfig
from auditor.crawl.extract import extract
from auditor.crawl.fetch import Fetcher
from auditor.crawl.frontier import PAGE_ELEMENTS
from auditor.crawl.linkcheck import LinkVerdict, check_urls
from auditor.crawl.urls import IGNORED_SCHEMES, MalformedURL, host_of, normalise, resolve
from auditor.crawl.verdict import verdict
from auditor.http import build_client

# Requesting any of these would end the session the crawl depends on.
LOGOUT = re.compile(r"(?i)log[-_ ]?out|sign[-_ ]?out|log[-_ ]?off|sign[-_ ]?off|end[-_]?session")


@dataclass
class AreaLink:
    """A link found on the area's pages: where it was first seen and the verdict on it."""

    url: str
    element: str
    sources: list[str] = field(default_factory=list)
    verdict: LinkVerdict | None = None


@dataclass
class AreaCrawl:
    """What crawling the area found: its pages (as finally reached) and every link on them."""

    pages: list[str] = field(default_factory=list)
    # Pages that did not load inside the area (e.g. redirected to the login form): URL -> why.
    left_area: dict[str, str] = field(default_factory=dict)
    links: dict[str, AreaLink] = field(default_factory=dict)
    # Links the area shares with the home page (header, footer, navigation): the crawl check's.
    site_chrome: set[str] = field(default_factory=set)


def session_client(
    site: SiteConfig, cookies: Sequence[Mapping[str, Any]], limits: CrawlLimits
) -> httpx.AsyncClient:
    """A client for `site` that sends the cookies of a browser session (Playwright's storage state
    `cookies`), each only to its own domain and path, as the browser would."""
    client = build_client(site, limits)
    for c in cookies:
        name, value = c.get("name"), c.get("value")
        if isinstance(name, str) and isinstance(value, str):
            client.cookies.set(name, value, domain=str(c.get("domain") or ""), path=str(c.get("path") or "/"))
    return client


def in_area(url: str, host: str, paths: Sequence[str]) -> bool:
    """Whether `url` is on `host` under one of `paths` ("/account" holds /account and /account/x)."""
    if host_of(url) != host:
        return False
    path = urlsplit(url).path or "/"
    return any(path == p or path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in paths)


async def crawl_area(
    client: httpx.AsyncClient,
    site: SiteConfig,
    base_url: str,
    *,
    paths: Sequence[str],
    exclude: Iterable[re.Pattern[str]] = (),
    skip_check: Iterable[re.Pattern[str]] = (),
    max_pages: int = 50,
    limits: CrawlLimits | None = None,
) -> AreaCrawl:
    """Parse the pages under `paths` (at most `max_pages`), collect every link on them, and check
    each one that matches no `exclude` or `skip_check` pattern (those the caller checks itself).

    Logout links are always excluded. Links that are also on the home page (the header, footer and
    navigation every page shares) are not checked: the crawl check covers them, and a dead footer
    link should be one finding, not one per check. Every request goes through `client`.
    """
    lim = (limits or site.crawl).model_copy(update={"respect_robots": False})
    excluded = [LOGOUT, *exclude]
    unchecked = list(skip_check)
    starts = [normalise(resolve(base_url, p))[0] for p in paths]
    host = host_of(starts[0])
    result = AreaCrawl()
    fetcher = Fetcher([client], lim, {"requests": 0, "retries": 0})
    queue, seen = list(starts), set(starts)
    while queue and len(result.pages) < max_pages:
        url = queue.pop(0)
        out = await fetcher.fetch(url, "GET", read="html")
        final = out.final_url or url
        if out.status != 200 or out.body is None or not in_area(final, host, paths):
            if url in result.links:  # linked from the area: a dead page, a file, a way out of it
                result.links[url].verdict = LinkVerdict(url, verdict(out, internal=True), out)
            else:
                result.left_area[url] = (
                    f"HTTP {out.status} at {final}" if out.status else (out.error or "no response")
                )
            continue
        result.pages.append(final)
        page = extract(out.body, out.content_type, targets=False)
        base = resolve(final, page.base) if page.base else final
        for raw, element in page.links:
            link = _absolute(raw, base)
            if link is None or any(p.search(link) for p in excluded):
                continue
            known = result.links.get(link)
            if known is None:
                known = result.links[link] = AreaLink(link, element)
            if final not in known.sources:
                known.sources.append(final)
            if element in PAGE_ELEMENTS and link not in seen and in_area(link, host, paths):
                seen.add(link)
                queue.append(link)
    result.site_chrome = await _home_links(fetcher, base_url) & set(result.links)
    to_check = [
        u
        for u in result.links
        if u not in seen and u not in result.site_chrome and not any(p.search(u) for p in unchecked)
    ]
    verdicts = await check_urls(to_check, site=site, limits=lim, client=client) if to_check else {}
    for u, judged in verdicts.items():
        result.links[u].verdict = judged
    return result


async def _home_links(fetcher: Fetcher, base_url: str) -> set[str]:
    """The absolute links of the site's home page (empty if it does not load)."""
    home = normalise(resolve(base_url, "/"))[0]
    out = await fetcher.fetch(home, "GET", read="html")
    if out.status != 200 or out.body is None:
        return set()
    page = extract(out.body, out.content_type, targets=False)
    base = resolve(out.final_url or home, page.base) if page.base else (out.final_url or home)
    return {link for raw, _ in page.links if (link := _absolute(raw, base)) is not None}


def _absolute(raw: str, base: str) -> str | None:
    """The normalised absolute http(s) URL of a link, or None for anything a crawl does not fetch."""
    if raw.startswith("#") or raw[:11].lower().startswith((*IGNORED_SCHEMES, "mailto:", "tel:")):
        return None
    try:
        url = normalise(resolve(base, raw))[0]
    except MalformedURL:
        return None
    return url if url.startswith(("http://", "https://")) else None

"""The frontier: which URLs to visit, each exactly once, within the crawl's scope and bounds.

De-duplication happens when a URL is queued (not after it is fetched), by its normalised string.
Scope: the site's own host is crawled, other hosts are only checked; include/exclude regexes;
at most `max_urls_per_path` distinct query strings per path (calendars, faceted search); at most
`max_pages` pages queued for parsing.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from auditor.crawl.urls import host_of
from auditor.crawl.verdict import MAX_SOURCES
from auditor.results import Finding

# Elements whose target is a page a customer navigates to: these are fetched with GET and parsed.
PAGE_ELEMENTS = frozenset({"a[href]", "meta[http-equiv=refresh]", "header:Refresh", "start"})


@dataclass(slots=True)
class Target:
    """One distinct URL: how it was first reached, from where, and what it was found to be."""

    url: str
    depth: int
    element: str
    internal: bool
    crawl: bool
    sources: list[str] = field(default_factory=list)
    total: int = 0
    done: bool = False
    verdict: str = ""
    # Fetched with 200 and parsed as HTML, without redirects: a page a sitemap should list.
    page: bool = False
    findings: list[Finding] = field(default_factory=list)

    def add_source(self, page: str) -> bool:
        """Record another page linking here; True when it was new and kept."""
        self.total += 1
        if self.verdict and not self.findings and self.sources:
            return False
        if len(self.sources) < MAX_SOURCES and page not in self.sources:
            self.sources.append(page)
            return True
        return False


class Frontier:
    """Every URL seen so far, and the queue of those still to fetch."""

    def __init__(
        self,
        host: str,
        *,
        include: list[re.Pattern[str]],
        exclude: list[re.Pattern[str]],
        external: bool,
        max_urls_per_path: int,
        max_pages: int,
        stats: dict[str, int | float],
    ) -> None:
        self.host = host
        self.include = include
        self.exclude = exclude
        self.external = external
        self.max_urls_per_path = max_urls_per_path
        self.max_pages = max_pages
        self.stats = stats
        self.targets: dict[str, Target] = {}
        self.queue: asyncio.Queue[Target] = asyncio.Queue()
        # URLs decided not to visit (excluded, trap, over a limit): remembered so they count once.
        self._skipped: set[str] = set()
        self._queries: dict[str, int] = {}
        self._pages = 0

    def offer(self, url: str, element: str, source: str | None, depth: int) -> Target | None:
        """Queue `url` (found on `source` by `element`) unless seen or out of scope.

        Returns the URL's Target when it is known (new or seen before), None when it is skipped.
        """
        t = self.targets.get(url)
        if t is not None:
            if source is not None:
                t.add_source(source)
            return t
        if url in self._skipped:
            return None
        # A start URL is the site by definition, whatever host the user gave for it.
        internal = source is None or host_of(url) == self.host
        reason = self._skip_reason(url, internal, element, source is None)
        if reason is not None:
            self._skipped.add(url)
            if reason:
                self.stats[reason] += 1
            return None
        crawl = internal and element in PAGE_ELEMENTS
        if crawl:
            self._pages += 1
        t = Target(url=url, depth=depth, element=element, internal=internal, crawl=crawl)
        if source is not None:
            t.add_source(source)
        self.targets[url] = t
        if not internal:
            self.stats["external"] += 1
        self.queue.put_nowait(t)
        return t

    def claim(self, url: str, depth: int) -> bool:
        """Mark `url` (a redirect's target) as visited; False when it was already known."""
        if url in self.targets or url in self._skipped:
            return False
        t = Target(url=url, depth=depth, element="a[href]", internal=host_of(url) == self.host, crawl=True)
        t.done = True
        self.targets[url] = t
        return True

    def skipped(self, url: str) -> bool:
        """Whether `url` was seen and deliberately not visited (excluded, trap, over a limit)."""
        return url in self._skipped

    def excluded(self, url: str) -> bool:
        """Whether the include/exclude patterns keep `url` out of the crawl."""
        if any(p.search(url) for p in self.exclude):
            return True
        internal = host_of(url) == self.host
        return bool(internal and self.include and not any(p.search(url) for p in self.include))

    def _skip_reason(self, url: str, internal: bool, element: str, is_start: bool) -> str | None:
        """Why `url` is not visited: a stats key, "" for silently, None when it is visited."""
        if is_start:
            return None
        if not internal and not self.external:
            return ""
        if self.excluded(url):
            return "excluded"
        if internal and "?" in url:
            path = url.split("?", 1)[0]
            n = self._queries.get(path, 0)
            if n >= self.max_urls_per_path:
                return "trap_skipped"
            self._queries[path] = n + 1
        if internal and element in PAGE_ELEMENTS and self._pages >= self.max_pages:
            return "page_limit_skipped"
        return None

"""The frontier: which URLs to visit, each exactly once, within the crawl's scope and bounds.

De-duplication happens when a URL is queued (not after it is fetched), by its normalised string.
Scope: the site's own host is crawled (with `scope="path"`, only under the start URLs' folders),
other hosts and out-of-scope pages are only checked; include/exclude regexes.

Bounds, each counted in the stats under the reason it was not visited (`NOT_VISITED`): at most
`max_pages` pages queued for parsing, at most `max_depth` clicks from a start URL, at most
`max_urls_per_path` distinct query strings per path (calendars, faceted search). The bounds are
for PAGES only: an image or asset a page uses is always checked, however many query-string
variants of it there are (`/_next/image?url=...&w=...`), since each is one cheap request and none
of them leads anywhere else.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from auditor.crawl.urls import host_of
from auditor.crawl.verdict import MAX_SOURCES
from auditor.results import Finding

# Elements whose target is a page a customer navigates to (or sees in a frame), or a stylesheet
# whose url()s a browser loads: these are fetched with GET and parsed.
PAGE_ELEMENTS = frozenset(
    {
        "a[href]", "meta[http-equiv=refresh]", "header:Refresh", "start", "iframe[src]", "frame[src]",
        "link[rel=stylesheet]", "css @import", "style @import",
    }
)  # fmt: skip
# Why a URL was not visited (a stats key) -> the limit that stopped it, as the user configures it.
NOT_VISITED = {
    "page_limit_skipped": "max_pages",
    "depth_skipped": "max_depth",
    "trap_skipped": "max_urls_per_path",
}


def scope_prefix(url: str) -> str:
    """The folder a `scope="path"` crawl from `url` stays in: its path up to the last "/"
    (as wget's --no-parent reads it: /shop/sale/ keeps /shop/sale/..., /landing/spring keeps
    /landing/...)."""
    path = path_of(url).split("?", 1)[0].split("#", 1)[0]
    return path[: path.rfind("/") + 1]


def path_of(url: str) -> str:
    """The path and query of an absolute URL ("/" when it has none)."""
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


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
    # Where it finally answered, and what its page says about indexing (for the sitemap check).
    final: str = ""
    canonical: str = ""
    indexable: bool = True
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
        max_depth: int | None = None,
        scope: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.include = include
        self.exclude = exclude
        self.external = external
        self.max_urls_per_path = max_urls_per_path
        self.max_pages = max_pages
        self.max_depth = max_depth
        # scope="path": start URL -> the folder it keeps the crawl in (None: the whole host).
        self.scope = scope
        self.stats = stats
        self.targets: dict[str, Target] = {}
        self.queue: asyncio.Queue[Target] = asyncio.Queue()
        # URLs decided not to visit (excluded, trap, over a limit): remembered so they count once.
        self._skipped: set[str] = set()
        self._too_deep: set[str] = set()
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
        reason = self._skip_reason(url, internal, element, source is None, depth)
        if reason == "depth_skipped":
            # Not for good: another page may link to it from fewer clicks away.
            if url not in self._too_deep:
                self._too_deep.add(url)
                self.stats[reason] += 1
            return None
        if url in self._too_deep:
            self._too_deep.discard(url)
            self.stats["depth_skipped"] -= 1
        if reason is not None:
            self._skipped.add(url)
            if reason:
                self.stats[reason] += 1
            return None
        crawl = internal and element in PAGE_ELEMENTS and (source is None or self.in_scope(url))
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
        if url in self._too_deep:
            self._too_deep.discard(url)
            self.stats["depth_skipped"] -= 1
        t = Target(url=url, depth=depth, element="a[href]", internal=host_of(url) == self.host, crawl=True)
        t.done = True
        self.targets[url] = t
        return True

    def skipped(self, url: str) -> bool:
        """Whether `url` was seen and deliberately not visited (excluded, trap, over a limit)."""
        return url in self._skipped or url in self._too_deep

    def excluded(self, url: str) -> bool:
        """Whether the include/exclude patterns keep `url` out of the crawl."""
        if any(p.search(url) for p in self.exclude):
            return True
        internal = host_of(url) == self.host
        return bool(internal and self.include and not any(p.search(url) for p in self.include))

    def in_scope(self, url: str) -> bool:
        """Whether `url` (on the site's host) is a page this crawl parses."""
        if self.scope is None:
            return True
        path = path_of(url)
        return any(path.startswith(prefix) for prefix in self.scope.values())

    def _skip_reason(self, url: str, internal: bool, element: str, is_start: bool, depth: int) -> str | None:
        """Why `url` is not visited: a stats key, "" for silently, None when it is visited."""
        if is_start:
            return None
        if not internal and not self.external:
            return ""
        if self.excluded(url):
            return "excluded"
        if not (internal and element in PAGE_ELEMENTS and self.in_scope(url)):
            return None  # what a page uses, or a link checked without being crawled: no bound
        if self.max_depth is not None and depth > self.max_depth:
            return "depth_skipped"
        if "?" in url:
            path = url.split("?", 1)[0]
            n = self._queries.get(path, 0)
            if n >= self.max_urls_per_path:
                return "trap_skipped"
            self._queries[path] = n + 1
        if self._pages >= self.max_pages:
            return "page_limit_skipped"
        return None

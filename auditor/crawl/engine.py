"""The crawl loop: workers take URLs from the frontier, fetch them, judge them, parse pages.

Findings are emitted the moment a URL's verdict is known (so a killed run keeps them) and
emitted again at the end when more pages turned out to link to the same URL. Memory per URL is a
small `Target`; page bodies are dropped after parsing, only their fragment ids are kept.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from auditor.check import CheckContext
from auditor.config import CrawlLimits
from auditor.crawl import indexing
from auditor.crawl import sitemap as sitemaps
from auditor.crawl.css import css_links
from auditor.crawl.css import decode as decode_css
from auditor.crawl.extract import extract, refresh_target
from auditor.crawl.fetch import Fetcher, Outcome, fetch_leaf
from auditor.crawl.frontier import NOT_VISITED, Frontier, Target, scope_prefix
from auditor.crawl.limits import CHAIN_HOPS
from auditor.crawl.robots import Robots
from auditor.crawl.urls import (
    IGNORED_SCHEMES,
    MalformedURL,
    absolute,
    contact_problem,
    host_of,
    join,
    normalise,
    origin_of,
    resolve,
)
from auditor.crawl.verdict import MAX_SOURCES, kind_for, message, new_finding, verdict
from auditor.crawl.wire import AiohttpWire
from auditor.errors import SiteUnreachable
from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    import httpx

_STATS = (
    "pages", "links", "external", "broken", "requests", "excluded", "trap_skipped", "retries",
    "page_limit_skipped", "deadline_skipped", "depth_skipped", "truncated_pages", "not_visited",
    "sitemap_urls", "sitemaps_unread",
)  # fmt: skip
_BROKEN = frozenset({"broken", "loop"})
# The crawl ends itself this long before the check's time limit (at most), to hand in its result.
_HAND_IN_S = 5.0


class Crawl:
    """One crawl of one site: call `run()` once."""

    def __init__(
        self,
        ctx: CheckContext,
        clients: AiohttpWire | list[httpx.AsyncClient],
        limits: CrawlLimits,
        *,
        start_paths: list[str],
        external: bool = True,
        fragments: bool = True,
        sitemap: bool = True,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        scope: str = "host",
        chain_hops: int = CHAIN_HOPS,
    ) -> None:
        self.ctx = ctx
        self.chain_hops = chain_hops
        self.limits = limits
        self.fragments = fragments
        self.use_sitemap = sitemap
        self.stats: dict[str, int | float] = dict.fromkeys(_STATS, 0)
        self.fetcher = Fetcher(clients, limits, self.stats)
        self.robots = Robots(self.fetcher, ctx.site.user_agent)
        try:
            self.starts = [normalise(resolve(ctx.base_url, p))[0] for p in start_paths]
        except MalformedURL as e:
            raise SiteUnreachable(f"could not reach {ctx.base_url}: malformed start URL ({e})") from e
        self.host = host_of(normalise(ctx.base_url)[0])
        self.frontier = Frontier(
            self.host,
            include=[re.compile(p) for p in include or []],
            exclude=[re.compile(p) for p in exclude or []],
            external=external,
            max_urls_per_path=limits.max_urls_per_path,
            max_pages=limits.max_pages,
            stats=self.stats,
            max_depth=limits.max_depth,
            scope={u: scope_prefix(u) for u in self.starts} if scope == "path" else None,
        )
        self.findings: dict[tuple[str, str, str], Finding] = {}
        self._emitted: dict[tuple[str, str, str], int] = {}
        # Fragment targets (ids and <a name>s) of every parsed page, and fragment links waiting
        # for their page to be parsed: page URL -> fragment -> linking pages.
        self.ids: dict[str, frozenset[str]] = {}
        self.waiting: dict[str, dict[str, list[str]]] = {}
        # Which limit ends the crawl first: its own max_duration_s, or the check's timeout_s (the
        # runner's deadline, less the time to hand in the result).
        now = time.monotonic()
        self.deadline, self.deadline_by = now + limits.max_duration_s, "max_duration_s"
        if ctx.deadline is not None:
            own = ctx.deadline - min(_HAND_IN_S, 0.1 * max(ctx.deadline - now, 0.0))
            if own < self.deadline:
                self.deadline, self.deadline_by = own, "timeout_s"
        # URLs whose visit the deadline interrupted, and what the deadline left undone otherwise.
        self._cut = 0
        self._phase = "crawl"
        # Awaited after each HTML page is parsed, as hook(crawl, target, outcome, body): the rendered
        # crawl (`auditor.crawl.render.RenderHook`) loads the page in Chromium and offers the links
        # only its DOM has; awaited by the worker, so what it offers is crawled before the end.
        self.page_hook: Callable[[Crawl, Target, Outcome, bytes], Awaitable[None]] | None = None

    async def run(self) -> CheckResult:
        """Crawl the site and return every finding with the crawl's stats.

        At the deadline the crawl stops where it is (requests in flight are dropped) and returns
        what it found, with one `crawl_incomplete` finding saying what was not visited and why.
        """
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + (self.deadline - time.monotonic())):
                # The start URLs go first, alone: an unreachable site fails fast, before any other fetch.
                for url in self.starts:
                    t = self.frontier.offer(url, "start", None, 0)
                    if t is not None and not t.done:
                        await self._visit(t)
                await self._drain()
                if self.use_sitemap:
                    self._phase = "sitemap"
                    listed = await self._read_sitemaps()
                    if listed.found:
                        await self._check_sitemap(listed)
                self._phase = "done"
        except TimeoutError:
            self.stats["deadline_skipped"] += self._cut + sum(
                1 for t in self.frontier.targets.values() if not t.done
            )
        self._report_incomplete()
        for key, f in self.findings.items():
            if self._emitted.get(key) != len(f.sources):
                self._emit(key, f)
        return CheckResult(findings=list(self.findings.values()), stats=self.stats)

    def _report_incomplete(self) -> None:
        """One `crawl_incomplete` warning when any limit left URLs unvisited (none otherwise)."""
        s = self.stats
        reasons: dict[str, int] = {}
        for key, limit in NOT_VISITED.items():
            if s[key]:
                reasons[f"{limit}={getattr(self.limits, limit)} reached"] = int(s[key])
        if s["deadline_skipped"]:
            if self.deadline_by == "max_duration_s":
                why = f"max_duration_s={self.limits.max_duration_s:g} reached"
            else:
                why = "the check's timeout_s reached"
            reasons[why] = int(s["deadline_skipped"])
        total = sum(reasons.values())
        s["not_visited"] = total
        also: list[str] = []
        if s["truncated_pages"]:
            also.append(
                f"{s['truncated_pages']} page(s) were cut at max_body_bytes={self.limits.max_body_bytes}, "
                "so links after the cut were not seen"
            )
        if s["sitemaps_unread"]:
            also.append(f"{s['sitemaps_unread']} sitemap file(s) beyond the first 200 were not read")
        if self.use_sitemap and self._phase != "done":
            also.append("the sitemaps were not compared with the crawl (no time left)")
        if not total and not also:
            return
        parts = []
        if total:
            counts = "; ".join(f"{why}: {n}" for why, n in reasons.items())
            parts.append(f"{total} URL(s) were not visited ({counts})")
        parts.extend(also)
        msg = f"The crawl stopped short: {', and '.join(parts)}. Raise the limits or narrow the crawl."
        evidence: dict[str, Any] = {"not_visited": total, "by_reason": reasons, "verdict": "incomplete"}
        if s["truncated_pages"]:
            evidence["truncated_pages"] = int(s["truncated_pages"])
        if s["sitemaps_unread"]:
            evidence["sitemaps_unread"] = int(s["sitemaps_unread"])
        evidence["sitemap_compared"] = self._phase == "done" or not self.use_sitemap
        url = self.starts[0] if self.starts else self.ctx.base_url
        f = new_finding("crawl_incomplete", url, "crawl", evidence, msg)
        self.findings[("crawl_incomplete", url, "")] = f

    async def _drain(self) -> None:
        queue = self.frontier.queue
        workers = [asyncio.create_task(self._worker()) for _ in range(self.limits.concurrency)]
        joined = asyncio.create_task(queue.join())
        try:
            done, _ = await asyncio.wait([joined, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not joined:
                    task.result()  # a worker only ends by raising: surface our bug
        finally:
            for task in [joined, *workers]:
                task.cancel()
            await asyncio.gather(joined, *workers, return_exceptions=True)

    async def _worker(self) -> None:
        queue = self.frontier.queue
        while True:
            t = await queue.get()
            try:
                if t.done:
                    continue
                await self._visit(t)
            finally:
                queue.task_done()

    async def _visit(self, t: Target) -> None:
        t.done = True
        is_start = t.element == "start"
        try:
            if (
                t.internal
                and not is_start
                and self.limits.respect_robots
                and not await self.robots.allowed(t.url)
            ):
                t.verdict = "excluded"
                self.stats["excluded"] += 1
                return
            out = await self._fetch(t.url, page=t.crawl)
        except asyncio.CancelledError:
            self._cut += 1  # the deadline came while this URL was being fetched
            raise
        if is_start and out.status is None and not out.loop:
            raise SiteUnreachable(f"could not reach {t.url}: {out.error or 'no response'}")
        if is_start and out.final_url and not out.loop:
            if host_of(out.final_url) != self.host:
                # http -> https or shop.example -> www.shop.example: the site lives where it landed.
                self.host = self.frontier.host = host_of(out.final_url)
            if self.frontier.scope is not None:
                # /docs -> /docs/: the folder the crawl stays in is the one the start landed in.
                self.frontier.scope[t.url] = scope_prefix(out.final_url)
        v = verdict(out, internal=t.internal, chain_hops=self.chain_hops)
        t.verdict = v
        kind = kind_for(v, t.element)
        if kind is not None:
            if v in _BROKEN:
                self.stats["broken"] += 1
            f = new_finding(
                kind, t.url, _element(t.element), _evidence(out, v), message(kind, t.url, out, _first(t))
            )
            f.source = _first(t)
            f.sources = t.sources  # shared: later linking pages land in the finding too
            t.findings.append(f)
            self.findings[(kind, t.url, "")] = f
            self._emit((kind, t.url, ""), f)
        else:
            del t.sources[1:]  # a working URL needs no list of the pages that link to it
        if t.crawl and out.body is not None and v in ("ok", "redirect"):
            if out.truncated:
                self.stats["truncated_pages"] += 1
            t.final = out.final_url
            body, pages = out.body, self.stats["pages"]
            self._parse(t, out)
            if self.page_hook is not None and self.stats["pages"] > pages:
                await self.page_hook(self, t, out, body)  # an HTML page was parsed just now

    async def _fetch(self, url: str, *, page: bool) -> Outcome:
        """GET a page (reading its HTML); HEAD anything else, GET again on any non-2xx answer."""
        if page:
            return await self.fetcher.fetch(url, "GET", read="html")
        return await fetch_leaf(self.fetcher, url)

    def _parse(self, t: Target, out: Outcome) -> None:
        assert out.body is not None
        page_url = out.final_url or t.url
        if page_url != t.url and not self.frontier.claim(page_url, t.depth):
            return  # the redirect lands on a page visited (or queued) on its own
        if not out.is_html:
            # A stylesheet (fetched to be read): its url()s and @imports resolve against it.
            links = css_links(decode_css(out.body, out.content_type))
            out.body = None
            for raw, element in links:
                self._link(raw, element, page_url, page_url, t.depth + 1, "", "")
            return
        self.stats["pages"] += 1
        t.page = out.status == 200 and not out.chain
        index_url = page_url if self.use_sitemap else None
        page = extract(
            out.body, out.content_type, targets=self.fragments, index_url=index_url, headers=out.headers
        )
        out.body = None
        if page.signals is not None:
            t.canonical, t.indexable = page.signals.canonical, not (page.signals.noindex or page.signals.form)
        if self.fragments:
            self.ids[t.url] = page.ids
            self.ids[page_url] = page.ids
            for url in {t.url, page_url}:
                for frag, sources in self.waiting.pop(url, {}).items():
                    for source in sources:
                        self._check_fragment(url, frag, source)
        # Every link is offered, even from a page at max_depth: the frontier drops the pages too
        # deep (counted) and still checks what this page uses (images, assets).
        try:
            base = resolve(page_url, page.base) if page.base else page_url
        except MalformedURL:
            base = page_url  # a browser ignores a <base href> it cannot parse
        refresh = out.headers.get("refresh")
        if refresh and (target := refresh_target(refresh)):
            page.links.append((target, "header:Refresh"))
        # The fast join needs a normalised base: a <base href> takes the exact path.
        origin = "" if page.base else origin_of(page_url)
        directory = page_url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
        for raw, element in page.links:
            self._link(raw, element, base, page_url, t.depth + 1, origin, directory, page.encoding)
        self.ctx.progress(
            pages=self.stats["pages"],
            links=self.stats["links"],
            broken=self.stats["broken"],
            queued=self.frontier.queue.qsize(),
        )

    def _link(
        self,
        raw: str,
        element: str,
        base: str,
        page_url: str,
        depth: int,
        origin: str,
        directory: str,
        encoding: str = "utf-8",
    ) -> None:
        self.stats["links"] += 1
        if raw[0] == "#":
            if self.fragments:
                self._check_fragment(page_url, raw[1:], page_url)
            return
        head = raw[:11].lower()
        if head.startswith(IGNORED_SCHEMES):
            return
        if head.startswith(("mailto:", "tel:")):
            problem = contact_problem(raw)
            if problem:
                self._malformed(raw, element, page_url, problem)
            return
        joined = join(origin, directory, raw) if origin else None
        try:
            url, frag = joined or absolute(base, raw, encoding)
        except MalformedURL as e:
            self._malformed(raw, element, page_url, str(e))
            return
        if not url.startswith(("http://", "https://")):
            return
        t = self.frontier.offer(url, element, page_url, depth)
        if t is not None and t.done and t.findings:
            for f in t.findings:
                f.evidence["sources_total"] = t.total
        if frag and self.fragments and t is not None and t.internal:
            self._check_fragment(url, frag, page_url)

    def _check_fragment(self, url: str, frag: str, source: str) -> None:
        # `#sec:~:text=...` scrolls to `sec`, then highlights text: the directive is never an id.
        frag = frag.split(":~:", 1)[0]
        if not frag or frag.lower() == "top":
            return
        ids = self.ids.get(url)
        if ids is None:
            waiting = self.waiting.setdefault(url, {}).setdefault(frag, [])
            if len(waiting) < MAX_SOURCES:
                waiting.append(source)
            return
        name = unquote(frag)
        if name in ids or frag in ids:
            return
        msg = (
            f"{url} has no element with id or name {name!r}, so the link to #{frag} (on {source}) "
            "opens the page at the top. Fix the link or restore the anchor."
        )
        self._seen_on(
            ("missing_fragment", url, name),
            source,
            lambda: new_finding(
                "missing_fragment", f"{url}#{frag}", "a[href]", {"verdict": "ok", "fragment": name}, msg, name
            ),
        )

    def _malformed(self, raw: str, element: str, source: str, problem: str) -> None:
        msg = f"The link {raw!r} on {source} is malformed: {problem}. Correct it."
        self._seen_on(
            ("malformed_link", raw, ""),
            source,
            lambda: new_finding(
                "malformed_link", raw, element, {"verdict": "broken", "problem": problem}, msg
            ),
        )

    def _seen_on(self, key: tuple[str, str, str], source: str, make: Callable[[], Finding]) -> None:
        """Record that the problem `key` shows on `source`; emitted as soon as it is first seen."""
        f = self.findings.get(key)
        if f is None:
            f = make()
            f.source = source
            f.evidence["sources_total"] = 0
            self.findings[key] = f
        _add_source(f, source)
        if len(f.sources) == 1:
            self._emit(key, f)

    async def _read_sitemaps(self) -> sitemaps.Sitemaps:
        origin = origin_of(normalise(self.ctx.base_url)[0])
        roots = [f"{origin}/sitemap.xml", *await self.robots.sitemaps(origin)]
        return await sitemaps.read(self.fetcher, roots)

    async def _check_sitemap(self, listed: sitemaps.Sitemaps) -> None:
        """Dead URLs in the sitemaps, listed pages nothing links to, and linked pages meant to be
        indexed that no sitemap lists (see `auditor.crawl.indexing` for which those are)."""
        self.stats["sitemap_urls"] = len(listed.pages)
        self.stats["sitemaps_unread"] = listed.unread
        key = indexing.page_key
        targets = self.frontier.targets
        # Every spelling of every parsed page: its URL, where it landed, the canonical it declares.
        crawled = {key(u) for t in targets.values() if t.final for u in (t.url, t.final, t.canonical) if u}
        listed_keys: set[str] = set()
        todo: list[tuple[str, str]] = []
        for url, sitemap_url in listed.pages.items():
            listed_keys.add(key(url))
            t = targets.get(url)
            if t is not None:
                listed_keys.update(key(u) for u in (t.final, t.canonical) if u)
                if t.verdict in _BROKEN:
                    self._sitemap_finding("sitemap_dead_url", url, sitemap_url, t.findings[0].evidence)
            elif self.frontier.skipped(url) or self.frontier.excluded(url):
                self.stats["excluded"] += 1
            else:
                todo.append((url, sitemap_url))
        landed = await asyncio.gather(*(self._check_listed(u, s, crawled) for u, s in todo))
        for keys in landed:
            listed_keys |= keys
        for t in list(targets.values()):
            if not t.page or not t.indexable:
                continue
            own = key(t.url)
            if t.canonical and key(t.canonical) != own:
                continue  # a duplicate: the sitemap should list its canonical, not it
            if {own, key(t.final or t.url)} & listed_keys:
                continue
            if not await self.robots.allowed(t.url):
                continue  # disallowed pages are not for search engines, even when we crawled them
            ev = {"verdict": "ok", "status": 200, "sitemaps": listed.files[:10]}
            self._sitemap_finding("sitemap_missing_page", t.url, _first(t) or t.url, ev)

    async def _check_listed(self, url: str, sitemap_url: str, crawled: set[str]) -> set[str]:
        """Check a listed URL the crawl never met; the page keys it stands for (where it landed,
        its canonical), so that a listed spelling of a crawled page counts as listing it."""
        internal = host_of(url) == self.host
        if internal and self.limits.respect_robots and not await self.robots.allowed(url):
            self.stats["excluded"] += 1
            return set()
        out = await self.fetcher.fetch(url, "GET", read="html" if internal else "none")
        v = verdict(out, internal=internal, chain_hops=self.chain_hops)
        keys = {indexing.page_key(out.final_url)} if out.final_url else set()
        if v in _BROKEN:
            self._sitemap_finding("sitemap_dead_url", url, sitemap_url, _evidence(out, v))
        elif out.status == 200 and out.is_html and internal:
            if out.body is not None:
                canonical = indexing.signals(out.body, out.headers, out.final_url or url).canonical
                if canonical:
                    keys.add(indexing.page_key(canonical))
                out.body = None
            if not keys & crawled and not self._truncated():
                self._sitemap_finding("sitemap_orphan_page", url, sitemap_url, _evidence(out, v))
        return keys

    def _truncated(self) -> bool:
        """Whether a limit stopped the crawl early, so unreached pages may still be linked."""
        s = self.stats
        return any(
            s[k] for k in ("page_limit_skipped", "deadline_skipped", "depth_skipped", "trap_skipped")
        ) or bool(s["truncated_pages"])

    def _sitemap_finding(self, kind: str, url: str, source: str, evidence: dict[str, Any]) -> None:
        msgs = {
            "sitemap_dead_url": (
                f"The sitemap {source} lists {url}, which is dead. Remove it from the sitemap."
            ),
            "sitemap_orphan_page": (
                f"{url} is in the sitemap {source} but no page links to it: customers cannot reach it "
                "by clicking. Link it from a page, or drop it from the sitemap."
            ),
            "sitemap_missing_page": (
                f"{url} (linked from {source}) is a live page missing from the sitemap. Add it, so "
                "search engines find it."
            ),
        }
        element = "sitemap" if kind != "sitemap_missing_page" else "a[href]"
        f = new_finding(kind, url, element, dict(evidence), msgs[kind])
        f.source = source
        f.sources = [source]
        key = (kind, url, "")
        self.findings[key] = f
        self._emit(key, f)

    def _emit(self, key: tuple[str, str, str], f: Finding) -> None:
        t = self.frontier.targets.get(f.url)
        if key[0] not in ("missing_fragment", "malformed_link") and t is not None and f.sources is t.sources:
            f.evidence["sources_total"] = t.total
        self._emitted[key] = len(f.sources)
        self.ctx.emit(f)


def _evidence(out: Outcome, v: str) -> dict[str, Any]:
    ev = out.evidence()
    # The stored verdicts are ok/redirect/broken/blocked/rate_limited/excluded: a loop is broken.
    ev["verdict"] = "broken" if v == "loop" else v
    return ev


def _element(element: str) -> str:
    return "a[href]" if element == "start" else element


def _first(t: Target) -> str | None:
    return t.sources[0] if t.sources else None


def _add_source(f: Finding, source: str) -> None:
    f.evidence["sources_total"] = f.evidence.get("sources_total", 0) + 1
    if len(f.sources) < MAX_SOURCES and source not in f.sources:
        f.sources.append(source)

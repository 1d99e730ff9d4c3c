"""What the crawler fetches and what it leaves alone: external hosts, robots, patterns, limits, traps."""

from __future__ import annotations

from auditor.results import Severity
from tests.crawl.harness import CrawlFn
from tests.crawl.site import RawServer, Site, page, serve


def external_site() -> Site:
    """Another host: bot protection, a dead page, HEAD-hostile pages and a page full of dead links."""
    return Site(
        pages={
            "/ok": page("/status/404?never=crawled"),
            "/head-404": page(),
            "/head-405": page(),
        },
        head_status={"/head-404": 404, "/head-405": 405},
        headers={"/status/503": {"cf-mitigated": "challenge"}},
    )


async def test_external_hosts_that_block_robots_are_warnings_and_dead_ones_errors(crawl: CrawlFn) -> None:
    ext = external_site()
    raw = RawServer()
    with serve(ext.app) as other, raw.serve() as linkedin:
        links = [
            f"{other}/status/403",
            f"{other}/status/401",
            f"{other}/status/503",
            f"{linkedin}/999",
            f"{other}/status/404",
            f"{other}/ok",
            f"{other}/head-404",
            f"{other}/head-405",
            f"{other}/ok#no-such-fragment",
        ]
        site = Site(pages={"/": page(*links, "/a"), "/a": page(f"{other}/ok", f"{other}/status/404")})
        with serve(site.app) as base:
            result = await crawl(base)
    assert result.found == {
        ("blocked_link", f"{other}/status/403"),
        ("blocked_link", f"{other}/status/401"),
        ("blocked_link", f"{other}/status/503"),
        ("blocked_link", f"{linkedin}/999"),
        ("broken_link", f"{other}/status/404"),
    }
    for url in (f"{other}/status/403", f"{linkedin}/999"):
        finding = result.one("blocked_link", url)
        assert finding.severity is Severity.WARNING
        assert finding.evidence["verdict"] == "blocked"
    assert result.one("broken_link", f"{other}/status/404").severity is Severity.ERROR
    # Checked once each, HEAD first, fragments ignored; never crawled (its dead link is not reported).
    assert ext.hits["HEAD /ok"] == 1
    assert ext.hits["GET /ok"] == 0
    assert ext.fetched("/status/404?never=crawled") == 0
    assert result.stats["external"] == 8


async def test_external_links_are_not_checked_when_turned_off(crawl: CrawlFn) -> None:
    ext = external_site()
    with serve(ext.app) as other:
        site = Site(pages={"/": page(f"{other}/status/404", f"{other}/ok", "/status/404")})
        with serve(site.app) as base:
            result = await crawl(base, external=False)
    assert result.found == {("broken_link", f"{base}/status/404")}
    assert result.stats["external"] == 0
    assert sum(ext.hits.values()) == 0


async def test_robots_disallowed_pages_are_not_fetched_nor_reported(crawl: CrawlFn) -> None:
    site = Site(
        pages={"/": page("/private/orders", "/status/404")},
        files={"/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private\n")},
    )
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{base}/status/404")}
    assert site.fetched("/private/orders") == 0
    assert site.fetched("/robots.txt") == 1
    assert result.stats["excluded"] >= 1


async def test_ignoring_robots_fetches_disallowed_pages(crawl: CrawlFn) -> None:
    site = Site(
        pages={"/": page("/private/orders", "/status/404")},
        files={"/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private\n")},
    )
    with serve(site.app) as base:
        result = await crawl(base, respect_robots=False)
    assert result.found == {
        ("broken_link", f"{base}/private/orders"),
        ("broken_link", f"{base}/status/404"),
    }


async def test_excluded_urls_are_not_fetched_nor_reported(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/status/404?x=1", "/blog/", "/status/410"), "/blog/": page()})
    with serve(site.app) as base:
        result = await crawl(base, exclude=[r"/status/404"])
    assert result.found == {("broken_link", f"{base}/status/410")}
    assert site.fetched("/status/404?x=1") == 0
    assert result.stats["excluded"] >= 1


async def test_only_included_urls_are_crawled(crawl: CrawlFn) -> None:
    site = Site(
        pages={
            "/shop/": page("/shop/a", "/blog/"),
            "/shop/a": page("/shop/missing"),
            "/blog/": page("/blog/missing"),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, start_paths=["/shop/"], include=[r"/shop/"])
    assert result.found == {("broken_link", f"{base}/shop/missing")}
    assert site.fetched("/blog/missing") == 0


def chain_site(length: int) -> Site:
    """/ -> /p1 -> /p2 ... -> /p<length>, which is dead."""
    pages = {"/": page("/p1")}
    pages.update({f"/p{i}": page(f"/p{i + 1}") for i in range(1, length)})
    return Site(pages=pages)


async def test_max_depth_stops_following_links_that_many_clicks_from_the_start(crawl: CrawlFn) -> None:
    site = chain_site(4)
    with serve(site.app) as base:
        shallow = await crawl(base, max_depth=3)
        deep = await crawl(base, max_depth=4)
    assert shallow.found == {("crawl_incomplete", f"{base}/")}
    assert shallow.one("crawl_incomplete", f"{base}/").evidence["by_reason"] == {"max_depth=3 reached": 1}
    assert shallow.stats["depth_skipped"] == 1
    assert site.fetched("/p4") == 1  # by the deep crawl only
    assert deep.found == {("broken_link", f"{base}/p4")}


async def test_max_pages_stops_the_crawl(crawl: CrawlFn) -> None:
    site = chain_site(10)
    with serve(site.app) as base:
        result = await crawl(base, max_pages=3)
    assert result.found == {("crawl_incomplete", f"{base}/")}
    # A chain reveals one page at a time: /p3 links to /p4, the first page over the limit.
    assert result.one("crawl_incomplete", f"{base}/").evidence["by_reason"] == {"max_pages=3 reached": 1}
    assert result.stats["pages"] == 3
    assert result.stats["not_visited"] == 1
    assert site.fetched("/p4") == 0


async def test_a_calendar_trap_is_bounded_by_max_urls_per_path(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/calendar?month=0")})
    with serve(site.app) as base:
        result = await crawl(base, max_urls_per_path=5)
    assert result.found == {("crawl_incomplete", f"{base}/")}
    calendar = sum(n for key, n in site.hits.items() if key.split(" ")[1].startswith("/calendar"))
    assert calendar == 5
    # month=0..4 (and -1..-4) were queued; the sixth distinct month was skipped, each side once.
    incomplete = result.one("crawl_incomplete", f"{base}/")
    assert incomplete.evidence["by_reason"] == {"max_urls_per_path=5 reached": result.stats["trap_skipped"]}
    assert result.stats["trap_skipped"] >= 1


async def test_session_ids_are_stripped_so_one_page_is_fetched_once(crawl: CrawlFn) -> None:
    links = ["/shop", "/shop;jsessionid=A1B2", "/shop?PHPSESSID=abc", "/shop?sid=1", "/shop?sessionid=z"]
    site = Site(pages={"/": page(*links), "/shop": page()})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == set()
    shop = sum(n for key, n in site.hits.items() if key.split(" ")[1].startswith("/shop"))
    assert shop == 1

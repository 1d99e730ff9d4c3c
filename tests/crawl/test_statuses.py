"""Status codes, retries, timeouts, resets and redirects: each gives exactly its verdict."""

from __future__ import annotations

import time

import pytest

from auditor.errors import SiteUnreachable
from auditor.results import Severity
from tests.crawl.harness import CrawlFn
from tests.crawl.site import RawServer, Site, free_port, page, serve, urlset


async def test_a_healthy_site_gives_no_findings(crawl: CrawlFn) -> None:
    site = Site(
        pages={
            "/": page(
                "",
                "/shop",
                "/about#team",
                "/hops/0",
                "mailto:shop@example.com",
                "tel:+1-555-0100",
                "javascript:void(0)",
                "{external}/ok",
                body='<img src="/logo.png" srcset="/logo.png 1x, /logo.png 2x">'
                '<link rel="stylesheet" href="/style.css"><script src="/app.js"></script>',
            ),
            "/shop": page("/", "/about", "/shop?page=2"),
            "/about": page("/shop", body='<h2 id="team">Team</h2>'),
        },
        files={
            "/logo.png": ("image/png", b"\x89PNG\r\n"),
            "/style.css": ("text/css", b"body{}"),
            "/app.js": ("text/javascript", b""),
        },
    )
    ext = Site(pages={"/ok": page()})
    with serve(ext.app) as external, serve(site.app) as base:
        site.pages["/"] = site.pages["/"].replace("{external}", external)
        site.files["/robots.txt"] = (
            "text/plain",
            f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode(),
        )
        site.files["/sitemap.xml"] = (
            "application/xml",
            urlset(f"{base}/", f"{base}/shop", f"{base}/shop?page=2", f"{base}/about", f"{base}/hops/0"),
        )
        result = await crawl(base)
    assert result.found == set()
    assert result.stats["pages"] >= 4
    assert result.stats["broken"] == 0
    assert result.stats["external"] == 1
    for key in ("pages", "links", "external", "broken", "requests", "excluded", "trap_skipped", "retries"):
        assert key in result.stats, key
    assert result.progress, "progress was never reported"
    assert {"pages", "links", "broken", "queued"} <= set(result.progress[-1])


async def test_it_reports_404_and_410_as_broken_links(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/status/404", "/status/410", "/status/200")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{base}/status/404"), ("broken_link", f"{base}/status/410")}
    finding = result.one("broken_link", f"{base}/status/404")
    assert finding.severity is Severity.ERROR
    assert finding.element == "a[href]"
    assert finding.source == f"{base}/"
    assert finding.evidence["status"] == 404
    assert finding.evidence["verdict"] == "broken"
    assert "404" in finding.message
    assert {"status", "attempts", "elapsed_ms", "verdict"} <= finding.evidence.keys()
    assert result.stats["broken"] == 2


async def test_a_401_or_403_on_the_sites_own_host_is_broken_not_blocked(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/status/401", "/status/403")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{base}/status/401"), ("broken_link", f"{base}/status/403")}


async def test_a_500_that_heals_on_retry_gives_no_finding(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/flaky")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == set()
    assert site.fetched("/flaky") == 2
    assert result.stats["retries"] >= 1


async def test_a_500_that_persists_after_retries_is_broken(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/status/500", "/status/503")})
    with serve(site.app) as base:
        result = await crawl(base, retries=2)
    assert result.found == {("broken_link", f"{base}/status/500"), ("broken_link", f"{base}/status/503")}
    assert site.fetched("/status/500") == 3
    assert result.one("broken_link", f"{base}/status/500").evidence["attempts"] == 3


async def test_it_waits_for_retry_after_then_counts_the_healed_429_as_ok(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/throttled?after=1")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == set()
    first, second = site.times["/throttled?after=1"][:2]
    assert second - first >= 0.9, "Retry-After: 1 was not honoured"


async def test_a_huge_retry_after_is_capped_at_max_retry_after_s(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/throttled?after=3600")})
    with serve(site.app) as base:
        started = time.monotonic()
        result = await crawl(base, max_retry_after_s=0.2)
    assert result.found == set()
    assert time.monotonic() - started < 10


async def test_a_url_that_keeps_answering_429_is_rate_limited_not_broken(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/throttled-forever")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("rate_limited", f"{base}/throttled-forever")}
    finding = result.one("rate_limited", f"{base}/throttled-forever")
    assert finding.severity is Severity.WARNING
    assert finding.evidence["verdict"] == "rate_limited"
    assert site.fetched("/throttled-forever") == 3


async def test_a_page_slower_than_the_timeout_is_broken_after_retries(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/slow")})
    with serve(site.app) as base:
        started = time.monotonic()
        result = await crawl(base, request_timeout_s=0.3, retries=1)
    assert result.found == {("broken_link", f"{base}/slow")}
    assert site.fetched("/slow") == 2
    assert time.monotonic() - started < 5


async def test_a_connection_that_keeps_resetting_is_broken(crawl: CrawlFn) -> None:
    raw = RawServer()
    with raw.serve() as other:
        site = Site(pages={"/": page(f"{other}/reset")})
        with serve(site.app) as base:
            result = await crawl(base)
    assert result.found == {("broken_link", f"{other}/reset")}


async def test_three_temporary_hops_are_a_redirect_chain_warning(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/hops/3", "/hops/2", "/hops/1")})
    with serve(site.app) as base:
        result = await crawl(base)
    # Two temporary hops or fewer are normal; the third one is worth a warning.
    assert result.found == {("redirect_chain", f"{base}/hops/3")}
    finding = result.one("redirect_chain", f"{base}/hops/3")
    assert finding.severity is Severity.WARNING
    assert f"{base}/hops/0" in str(finding.evidence)


async def test_a_linked_permanent_redirect_is_a_redirect_chain_even_with_one_hop(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/moved")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("redirect_chain", f"{base}/moved")}
    assert "301" in str(result.one("redirect_chain", f"{base}/moved").evidence)


async def test_a_redirect_loop_is_an_error(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/loop/a")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("redirect_loop", f"{base}/loop/a")}
    assert result.one("redirect_loop", f"{base}/loop/a").severity is Severity.ERROR


async def test_a_url_broken_on_many_pages_is_one_finding_listing_every_page(crawl: CrawlFn) -> None:
    site = Site(
        pages={
            "/": page("/a", "/b", "/c", "/status/404"),
            "/a": page("/status/404"),
            "/b": page("/status/404"),
            "/c": page("/status/404"),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{base}/status/404")}
    finding = result.one("broken_link", f"{base}/status/404")
    assert set(finding.sources) | {finding.source} == {f"{base}/", f"{base}/a", f"{base}/b", f"{base}/c"}
    assert site.fetched("/status/404") == 1


async def test_it_raises_site_unreachable_when_the_start_url_refuses(crawl: CrawlFn) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SiteUnreachable, match="could not reach"):
        await crawl(url)


@pytest.mark.parametrize("status", [404, 500])
async def test_a_start_url_answering_an_error_is_a_finding_not_an_exception(
    crawl: CrawlFn, status: int
) -> None:
    site = Site()
    with serve(site.app) as base:
        result = await crawl(base, start_paths=[f"/status/{status}"])
    assert result.found == {("broken_link", f"{base}/status/{status}")}


async def test_a_start_url_that_keeps_timing_out_is_unreachable(crawl: CrawlFn) -> None:
    site = Site()
    with serve(site.app) as base, pytest.raises(SiteUnreachable, match="could not reach"):
        await crawl(base, start_paths=["/slow"], request_timeout_s=0.2, retries=1)
    assert site.fetched("/slow") == 2


async def test_a_link_on_more_than_a_hundred_pages_keeps_a_capped_source_list(crawl: CrawlFn) -> None:
    pages = {f"/p{i}": page("/status/404") for i in range(150)}
    pages["/"] = page(*pages)
    site = Site(pages=pages)
    with serve(site.app) as base:
        # 150 pages at once on a busy machine: a generous total deadline per request.
        result = await crawl(base, concurrency=32, per_host_concurrency=32, request_timeout_s=10)
    assert result.found == {("broken_link", f"{base}/status/404")}
    finding = result.one("broken_link", f"{base}/status/404")
    assert 50 <= len(set(finding.sources)) == len(finding.sources) <= 100
    assert finding.evidence["sources_total"] == 150


async def test_spellings_of_one_url_are_fetched_once(crawl: CrawlFn) -> None:
    site = Site(pages={"/a": page()})
    with serve(site.app) as base:
        upper = base.replace("http://", "HTTP://")
        spellings = ["/a", "./a", "/b/../a", "/./a", " /a ", "/a#", f"{base}/a", f"{upper}/a", "a"]
        site.pages["/"] = page(*spellings)
        result = await crawl(base)
    assert result.found == set()
    assert site.fetched("/a") == 1


async def test_a_finding_is_streamed_as_soon_as_its_verdict_is_known(crawl: CrawlFn) -> None:
    chain = {"/": page("/status/404", "/p1")}
    chain.update({f"/p{i}": page(f"/p{i + 1}") for i in range(1, 8)})
    chain["/p8"] = page()
    site = Site(pages=chain)
    requests_at_emit: list[int] = []
    with serve(site.app) as base:
        result = await crawl(base, on_emit=lambda f: requests_at_emit.append(sum(site.hits.values())))
    assert result.found == {("broken_link", f"{base}/status/404")}
    # /p8 is eight clicks deep: the crawl was far from over when the 404 was reported.
    assert requests_at_emit[0] < sum(site.hits.values()) - 3


async def test_twenty_hops_is_a_chain_as_browsers_follow_it_and_twenty_one_is_a_loop(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/hops/20", "/hops/21")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("redirect_chain", f"{base}/hops/20"), ("redirect_loop", f"{base}/hops/21")}
    chain = result.one("redirect_chain", f"{base}/hops/20")
    assert len(chain.evidence["redirects"]) == 20
    assert chain.evidence["final_url"] == f"{base}/hops/0"
    assert chain.evidence["status"] == 200
    assert result.one("redirect_loop", f"{base}/hops/21").severity is Severity.ERROR


async def test_a_redirect_to_a_dead_page_is_a_broken_link_at_the_linked_url(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/to?url=/status/404")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{base}/to?url=/status/404")}
    finding = result.one("broken_link", f"{base}/to?url=/status/404")
    assert finding.evidence["final_url"] == f"{base}/status/404"
    assert finding.evidence["status"] == 404

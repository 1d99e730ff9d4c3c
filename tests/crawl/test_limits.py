"""Never stall, always say what was not done: deadlines, 429s, bounds, and `crawl_incomplete`."""

from __future__ import annotations

import time
from pathlib import Path

from auditor.check import CheckContext
from auditor.checks.crawl import CrawlCheck, CrawlOptions
from auditor.config import SiteConfig
from auditor.results import Severity
from tests.crawl.harness import FAST, CrawlFn
from tests.crawl.site import Site, page, serve


async def test_a_page_that_trickles_forever_is_cut_at_request_timeout_s_and_reported_as_timed_out(
    crawl: CrawlFn,
) -> None:
    site = Site(pages={"/": page("/trickle?every=0.2", "/status/404")})
    with serve(site.app) as base:
        result = await crawl(base, request_timeout_s=1.0, retries=0)
    trickle = f"{base}/trickle?every=0.2"
    # A read timeout of 1 s never fires (a byte comes every 0.2 s): only the total deadline does.
    assert result.found == {("broken_link", trickle), ("broken_link", f"{base}/status/404")}
    finding = result.one("broken_link", trickle)
    assert "timed out: no complete answer within 1 s (request_timeout_s)" in finding.message
    assert finding.evidence["status"] is None


async def test_one_url_that_keeps_answering_429_does_not_slow_the_rest_of_its_host(crawl: CrawlFn) -> None:
    others = [f"/p{i}" for i in range(60)]
    pages = {"/": page("/throttled-forever?after=1", *others)}
    pages.update({p: page() for p in others})
    site = Site(pages=pages)
    with serve(site.app) as base:
        # Were the host slowed for every 429 (as before), 60 pages would not fit in 15 s.
        result = await crawl(base, max_duration_s=15, retries=2, per_host_concurrency=2)
    assert result.found == {("rate_limited", f"{base}/throttled-forever?after=1")}
    assert all(site.fetched(p) == 1 for p in others)
    assert site.fetched("/throttled-forever?after=1") == 3
    assert result.stats["not_visited"] == 0


async def test_max_pages_ends_the_crawl_with_its_findings_and_one_crawl_incomplete(crawl: CrawlFn) -> None:
    pages = {"/": page("/status/404", "/status/410", *[f"/p{i}" for i in range(10)])}
    pages.update({f"/p{i}": page() for i in range(10)})
    site = Site(pages=pages)
    with serve(site.app) as base:
        result = await crawl(base, max_pages=4)
    assert result.found == {
        ("broken_link", f"{base}/status/404"),
        ("broken_link", f"{base}/status/410"),
        ("crawl_incomplete", f"{base}/"),
    }
    incomplete = result.one("crawl_incomplete", f"{base}/")
    assert incomplete.severity is Severity.WARNING
    # The start page and the two dead links are pages (links a customer clicks): 4 - 3 = one /p.
    assert incomplete.evidence["by_reason"] == {"max_pages=4 reached": 9}
    assert incomplete.evidence["not_visited"] == 9 == result.stats["not_visited"]
    assert incomplete.message == (
        "The crawl stopped short: 9 URL(s) were not visited (max_pages=4 reached: 9). "
        "Raise the limits or narrow the crawl."
    )


async def test_every_query_variant_of_an_image_is_checked_beyond_the_per_path_bound(crawl: CrawlFn) -> None:
    widths = [f"/images?src=shoe.jpg&w={w}" for w in range(0, 400, 10)]
    imgs = "".join(f'<img src="{u}">' for u in [*widths, "/images?src=missing&w=640"])
    nexts = "".join(f'<img src="/_next/image?url=/p{i}.jpg&amp;w=64">' for i in range(8))
    site = Site(pages={"/": page(body=imgs + nexts)}, files={"/_next/image": ("image/png", b"png")})
    with serve(site.app) as base:
        result = await crawl(base, max_urls_per_path=5)
    assert result.found == {("broken_image", f"{base}/images?src=missing&w=640")}
    assert all(site.fetched(u) >= 1 for u in widths)
    assert sum(n for k, n in site.hits.items() if "/_next/image?" in k) == 8
    assert result.stats["trap_skipped"] == 0


async def test_the_crawl_ends_itself_before_the_checks_time_limit_with_what_it_found(tmp_path: Path) -> None:
    site = Site(pages={"/": page("/status/404", "/calendar?month=0")})
    with serve(site.app) as base:
        ctx = CheckContext(
            run_id="t",
            name="links",
            site=SiteConfig(base_url=base),
            base_url=base,
            report_dir=tmp_path,
            deadline=time.monotonic() + 2.0,
        )
        options = CrawlOptions(
            **{**FAST, "max_urls_per_path": 100_000, "max_depth": 100_000, "delay_s": 0.05}
        )
        result = await CrawlCheck("links", options).run(ctx)
    assert {(f.kind, f.url) for f in result.findings} == {
        ("broken_link", f"{base}/status/404"),
        ("crawl_incomplete", f"{base}/"),
    }
    incomplete = next(f for f in result.findings if f.kind == "crawl_incomplete")
    assert list(incomplete.evidence["by_reason"]) == ["the check's timeout_s reached"]
    assert "the sitemaps were not compared with the crawl (no time left)" in incomplete.message
    assert incomplete.evidence["sitemap_compared"] is False

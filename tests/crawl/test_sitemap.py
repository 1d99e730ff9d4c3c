"""Sitemaps: dead URLs listed, orphan pages listed but unlinked, linked pages missing from them."""

from __future__ import annotations

import gzip

from auditor.results import Severity
from tests.crawl.harness import CrawlFn
from tests.crawl.site import Site, page, serve, sitemap_index, urlset

LINKED = {"/": page("/a", "/b"), "/a": page("/"), "/b": page(), "/orphan": page()}


async def test_a_stale_sitemap_gives_dead_orphan_and_missing_page_findings(crawl: CrawlFn) -> None:
    # An image and a PDF are reachable too, but they are not pages: a sitemap need not list them.
    pages = {**LINKED, "/": page("/a", "/b", "/guide.pdf", body='<img src="/logo.png" alt="">')}
    files = {"/logo.png": ("image/png", b"png"), "/guide.pdf": ("application/pdf", b"%PDF-1.4")}
    site = Site(pages=pages, files=files)
    with serve(site.app) as base:
        listed = urlset(f"{base}/", f"{base}/a", f"{base}/orphan", f"{base}/status/404")
        site.files["/sitemap.xml"] = ("application/xml", listed)
        result = await crawl(base)
    assert result.found == {
        ("sitemap_dead_url", f"{base}/status/404"),
        ("sitemap_orphan_page", f"{base}/orphan"),
        ("sitemap_missing_page", f"{base}/b"),
    }
    dead = result.one("sitemap_dead_url", f"{base}/status/404")
    assert dead.severity is Severity.ERROR
    assert dead.element == "sitemap"
    assert dead.source == f"{base}/sitemap.xml"
    assert result.one("sitemap_orphan_page", f"{base}/orphan").severity is Severity.WARNING
    assert result.one("sitemap_missing_page", f"{base}/b").severity is Severity.WARNING


async def test_no_sitemap_means_no_sitemap_findings(crawl: CrawlFn) -> None:
    site = Site(pages=dict(LINKED))
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == set()


async def test_sitemaps_are_ignored_when_turned_off(crawl: CrawlFn) -> None:
    site = Site(pages=dict(LINKED))
    with serve(site.app) as base:
        site.files["/sitemap.xml"] = ("application/xml", urlset(f"{base}/status/404"))
        result = await crawl(base, sitemap=False)
    assert result.found == set()
    assert site.fetched("/status/404") == 0


async def test_a_linked_broken_url_in_the_sitemap_gets_both_findings(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/status/410")})
    with serve(site.app) as base:
        site.files["/sitemap.xml"] = ("application/xml", urlset(f"{base}/", f"{base}/status/410"))
        result = await crawl(base)
    assert result.found == {
        ("broken_link", f"{base}/status/410"),
        ("sitemap_dead_url", f"{base}/status/410"),
    }
    assert result.one("broken_link", f"{base}/status/410").source == f"{base}/"
    assert site.fetched("/status/410") == 1


async def test_a_sitemap_index_is_followed_to_its_sitemaps(crawl: CrawlFn) -> None:
    site = Site(pages=dict(LINKED))
    with serve(site.app) as base:
        index = sitemap_index(f"{base}/maps/pages.xml", f"{base}/maps/more.xml")
        site.files["/sitemap.xml"] = ("application/xml", index)
        site.files["/maps/pages.xml"] = ("application/xml", urlset(f"{base}/", f"{base}/a"))
        site.files["/maps/more.xml"] = ("application/xml", urlset(f"{base}/b", f"{base}/orphan"))
        result = await crawl(base)
    assert result.found == {("sitemap_orphan_page", f"{base}/orphan")}
    assert result.one("sitemap_orphan_page", f"{base}/orphan").source == f"{base}/maps/more.xml"


async def test_a_gzipped_sitemap_is_read(crawl: CrawlFn) -> None:
    site = Site(pages=dict(LINKED))
    with serve(site.app) as base:
        site.files["/sitemap.xml"] = ("application/xml", sitemap_index(f"{base}/maps/all.xml.gz"))
        listed = urlset(f"{base}/", f"{base}/a", f"{base}/b", f"{base}/orphan")
        site.files["/maps/all.xml.gz"] = ("application/gzip", gzip.compress(listed))
        result = await crawl(base)
    assert result.found == {("sitemap_orphan_page", f"{base}/orphan")}


async def test_a_sitemap_named_in_robots_txt_is_read(crawl: CrawlFn) -> None:
    site = Site(pages=dict(LINKED))
    with serve(site.app) as base:
        robots = f"User-agent: *\nDisallow: /private\nSitemap: {base}/maps/site.xml\n"
        site.files["/robots.txt"] = ("text/plain", robots.encode())
        listed = urlset(f"{base}/", f"{base}/a", f"{base}/b", f"{base}/status/404", f"{base}/private/x")
        site.files["/maps/site.xml"] = ("application/xml", listed)
        result = await crawl(base)
    # /orphan is not listed here, and is unlinked: nobody can know about it.
    assert result.found == {("sitemap_dead_url", f"{base}/status/404")}
    # Sitemap URLs that robots.txt disallows are not fetched either.
    assert site.fetched("/private/x") == 0


async def test_slash_and_index_html_are_one_page_for_the_sitemap(crawl: CrawlFn) -> None:
    # Linked as /index.html, listed as /; and /shop/ linked, listed as /shop/index.html.
    pages = {"/": page("/index.html", "/shop/"), "/index.html": page(), "/shop/": page()}
    site = Site(pages=pages)
    with serve(site.app) as base:
        site.files["/sitemap.xml"] = ("application/xml", urlset(f"{base}/", f"{base}/shop/index.html"))
        site.pages["/shop/index.html"] = page()
        result = await crawl(base)
    assert result.found == set()


async def test_noindex_canonical_duplicate_and_form_pages_are_not_missing_from_the_sitemap(
    crawl: CrawlFn,
) -> None:
    head = '<html><head><meta name="robots" content="noindex, follow"></head><body>x</body></html>'
    review = (
        "<html><body><main><h1>Review</h1><form method=post action=/reviews>"
        "<label>Your review of the shoe</label><textarea name=r></textarea><button>Send it</button>"
        "</form></main></body></html>"
    )
    product = (
        "<html><body><main><h1>Red shoe</h1><p>A red shoe of soft leather, hand made in Porto, "
        "with a rubber sole that lasts for years.</p><form method=post action=/cart>"
        "<button>Add to cart</button></form></main></body></html>"
    )
    pages = {
        "/": page("/noindex", "/header-noindex", "/dup?colour=red", "/review", "/product", "/listed"),
        "/noindex": head,
        "/header-noindex": page(),
        "/listed": page(),
        "/review": review,
        "/product": product,
    }
    site = Site(pages=pages, headers={"/header-noindex": {"X-Robots-Tag": "googlebot: noindex"}})
    with serve(site.app) as base:
        site.pages["/dup"] = (
            f'<html><head><link rel="canonical" href="{base}/listed"></head><body>red</body></html>'
        )
        site.files["/sitemap.xml"] = ("application/xml", urlset(f"{base}/", f"{base}/listed"))
        result = await crawl(base)
    # Only the product page is meant to be indexed and unlisted: its cart form is not its content.
    assert result.found == {("sitemap_missing_page", f"{base}/product")}


async def test_pages_robots_txt_disallows_are_never_missing_from_the_sitemap_even_when_crawled(
    crawl: CrawlFn,
) -> None:
    robots = b"User-agent: *\nDisallow: /private/\n"
    pages = {
        "/": page("/private/orders", "/public"),
        "/private/orders": page("/status/404"),
        "/public": page(),
    }
    site = Site(pages=pages, files={"/robots.txt": ("text/plain", robots)})
    with serve(site.app) as base:
        site.files["/sitemap.xml"] = ("application/xml", urlset(f"{base}/"))
        result = await crawl(base, respect_robots=False)
    assert site.fetched("/private/orders") == 1
    assert result.found == {
        ("broken_link", f"{base}/status/404"),
        ("sitemap_missing_page", f"{base}/public"),
    }


async def test_a_listed_url_that_redirects_to_a_linked_page_lists_that_page(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/hops/0"), "/hops/0": page()})
    with serve(site.app) as base:
        site.files["/sitemap.xml"] = ("application/xml", urlset(f"{base}/", f"{base}/hops/1"))
        result = await crawl(base)
    assert result.found == set()

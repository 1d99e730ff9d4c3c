"""What the crawler reads inside pages: elements, fragments, odd links, odd bodies."""

from __future__ import annotations

import pytest

from auditor.results import Severity
from tests.crawl.harness import CrawlFn
from tests.crawl.site import Site, page, serve

EVERY_ELEMENT = """
<link rel="stylesheet" href="/status/404?e=css">
<link rel="icon" href="/status/404?e=icon">
<link rel="preload" href="/status/404?e=preload" as="font">
<link rel="canonical" href="/status/404?e=canonical">
<meta http-equiv="refresh" content="30; url=/status/404?e=refresh">
<script src="/status/404?e=script"></script>
<img src="/status/404?e=img" alt="">
<img src="/ok.png" srcset="/ok.png 1x, /status/404?e=srcset 2x" alt="">
<picture><source srcset="/status/404?e=picture 1x" type="image/webp"><img src="/ok.png" alt=""></picture>
<iframe src="/status/404?e=iframe"></iframe>
<video src="/status/404?e=video"></video>
<audio src="/status/404?e=audio"></audio>
<video><source src="/status/404?e=source" type="video/mp4"></video>
<a href="/status/404?e=a">a</a>
<a href="/refresh-header">header</a>
"""


async def test_each_element_gives_its_kind_and_element_name(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page(body=EVERY_ELEMENT)}, files={"/ok.png": ("image/png", b"png")})
    with serve(site.app) as base:
        result = await crawl(base)
    got = {(f.kind, f.url.removeprefix(f"{base}/status/404?e="), f.element) for f in result.findings}
    assert got == {
        ("broken_resource", "css", "link[rel=stylesheet]"),
        ("broken_image", "icon", "link[rel=icon]"),
        ("broken_resource", "preload", "link[rel=preload]"),
        ("broken_link", "canonical", "link[rel=canonical]"),
        ("broken_link", "refresh", "meta[http-equiv=refresh]"),
        ("broken_resource", "script", "script[src]"),
        ("broken_image", "img", "img[src]"),
        ("broken_image", "srcset", "img[srcset]"),
        ("broken_image", "picture", "source[srcset]"),
        ("broken_resource", "iframe", "iframe[src]"),
        ("broken_resource", "video", "video[src]"),
        ("broken_resource", "audio", "audio[src]"),
        ("broken_resource", "source", "source[src]"),
        ("broken_link", "a", "a[href]"),
        ("broken_link", f"{base}/status/404?via=header", "header:Refresh"),
    }
    assert all(f.severity is Severity.ERROR for f in result.findings)


async def test_missing_fragments_are_warnings_and_present_ones_pass(crawl: CrawlFn) -> None:
    target = '<h2 id="present">x</h2><a name="named">y</a><p id="a b">z</p><p id="café">w</p>'
    site = Site(
        pages={
            "/": page(
                "/doc#present",
                "/doc#named",
                "/doc#a%20b",
                "/doc#caf%C3%A9",
                "/doc#",
                "/doc#top",
                "/doc#missing",
                "/doc#Present",
                "#local",
                "#nowhere",
                body='<span id="local"></span>',
            ),
            "/doc": page(body=target),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {
        ("missing_fragment", f"{base}/doc#missing"),
        ("missing_fragment", f"{base}/doc#Present"),
        ("missing_fragment", f"{base}/#nowhere"),
    }
    finding = result.one("missing_fragment", f"{base}/doc#missing")
    assert finding.key == "missing"
    assert finding.severity is Severity.WARNING
    assert finding.source == f"{base}/"
    # The page is fetched once, whatever the number of fragments pointing into it.
    assert site.fetched("/doc") == 1


async def test_fragments_are_not_checked_when_turned_off(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/doc#missing"), "/doc": page()})
    with serve(site.app) as base:
        result = await crawl(base, fragments=False)
    assert result.found == set()


async def test_malformed_mailto_tel_and_urls_are_warnings_and_pseudo_schemes_are_ignored(
    crawl: CrawlFn,
) -> None:
    links = [
        "mailto:shop@example.com",
        "mailto:shop@example.com?subject=Hi",
        "tel:+1-555-0100",
        "javascript:void(0)",
        "data:text/plain,hi",
        "about:blank",
        "blob:https://example.com/1",
        "mailto:",
        "mailto:not-an-address",
        "tel:call-us",
        "http://[bad",
    ]
    site = Site(pages={"/": page(*links)})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {
        ("malformed_link", "mailto:"),
        ("malformed_link", "mailto:not-an-address"),
        ("malformed_link", "tel:call-us"),
        ("malformed_link", "http://[bad"),
    }
    assert all(f.severity is Severity.WARNING for f in result.findings)
    assert sum(site.hits.values()) <= 3  # /, robots.txt, sitemap.xml: nothing else was fetched


async def test_a_huge_page_is_cut_at_max_body_bytes_and_parsed_up_to_the_cut(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/huge")})
    with serve(site.app) as base:
        result = await crawl(base, max_body_bytes=64 * 1024)
    # The link before the padding is seen; the one after the cut is not, and the crawl says so.
    assert result.found == {
        ("broken_link", f"{base}/status/404?huge=before"),
        ("crawl_incomplete", f"{base}/"),
    }
    incomplete = result.one("crawl_incomplete", f"{base}/")
    assert incomplete.evidence["truncated_pages"] == 1
    assert "1 page(s) were cut at max_body_bytes=65536" in incomplete.message


async def test_a_huge_page_under_the_cap_is_read_whole(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/huge")})
    with serve(site.app) as base:
        result = await crawl(base, max_body_bytes=1024 * 1024)
    assert result.found == {
        ("broken_link", f"{base}/status/404?huge=before"),
        ("broken_link", f"{base}/status/404?huge=after"),
    }


async def test_links_in_malformed_html_are_still_found(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/malformed")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {
        ("broken_link", f"{base}/status/404?malformed=1"),
        ("broken_link", f"{base}/status/410?malformed=2"),
    }
    assert site.fetched("/hops/0") == 1


@pytest.mark.parametrize("declared", ["meta", "header"])
async def test_links_in_a_windows_1252_page_are_extracted_and_decoded(crawl: CrawlFn, declared: str) -> None:
    site = Site(pages={"/": page(f"/cp1252?declared={declared}")})
    with serve(site.app) as base:
        result = await crawl(base)
    # /menu/café only answers 200 when the href was decoded as windows-1252.
    assert result.found == {("broken_link", f"{base}/status/404?cp1252=1")}
    assert site.fetched("/menu/café") == 1


async def test_it_reports_broken_links_on_a_page_found_through_a_redirect(crawl: CrawlFn) -> None:
    site = Site(pages={"/hops/0": page("/status/404?behind=redirect"), "/": page("/hops/1")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{base}/status/404?behind=redirect")}


async def test_only_html_responses_are_parsed_for_links(crawl: CrawlFn) -> None:
    html_like = b'<html><body><a href="/status/404?parsed=1">x</a></body></html>'
    site = Site(
        pages={"/": page("/style.css", "/notes.txt", "/data.json")},
        files={
            "/style.css": ("text/css", html_like),
            "/notes.txt": ("text/plain", html_like),
            "/data.json": ("application/json", html_like),
        },
    )
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == set()
    assert site.fetched("/status/404?parsed=1") == 0

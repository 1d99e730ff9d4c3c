"""What a browser loads besides links, end to end: a real crawl of a real loopback shop.

Each test asserts the exact findings (kind, URL, element, source): a finding lost or one too many
fails it.
"""

from __future__ import annotations

from auditor.results import CheckResult, Severity, Status
from tests.crawl.elements_site import CSS, PNG, ElementsSite, html
from tests.crawl.harness import Crawl, CrawlFn
from tests.crawl.site import serve


def found(result: Crawl, base: str) -> set[tuple[str, str, str, str | None]]:
    """(kind, path, element, source path) of every finding, with the base URL cut off."""

    def cut(url: str | None) -> str | None:
        return url.removeprefix(base) if url else url

    return {(f.kind, cut(f.url) or "", f.element or "", cut(f.source)) for f in result.findings}


async def test_it_reports_dead_css_images_fonts_and_imports_with_the_stylesheet_as_source(
    crawl: CrawlFn,
) -> None:
    main_css = b"""
        @import url(sub/theme.css);
        /* url(/img/in-a-comment.png) is not loaded */
        @font-face { font-family: Shop;
                     src: url("../fonts/missing.woff2") format("woff2"), url(../fonts/ok.woff) }
        .hero { background: url(../img/missing-hero.jpg) no-repeat, url('/img/ok.png') }
        .dot { background-image: url(data:image/png;base64,iVBORw0KGgo=) }
        .filter { filter: url(#blur) }
    """
    site = ElementsSite(
        {
            "/": html(
                body="<div style=\"background-image: url('/img/missing-attr.png')\">x</div>",
                head=(
                    '<link rel="stylesheet" href="/css/main.css">'
                    '<style>@import "/css/imported.css";'
                    ".h { background: url(/img/missing-style.png) }</style>"
                ),
            ),
            "/css/main.css": (CSS, main_css),
            "/css/sub/theme.css": (CSS, b".x { background: url(gone.png) }"),
            "/fonts/ok.woff": ("font/woff", b"woff"),
            "/img/ok.png": (PNG, b"png"),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False)
    assert found(result, base) == {
        ("broken_resource", "/fonts/missing.woff2", "css @font-face url()", "/css/main.css"),
        ("broken_image", "/img/missing-hero.jpg", "css url()", "/css/main.css"),
        ("broken_image", "/css/sub/gone.png", "css url()", "/css/sub/theme.css"),
        ("broken_resource", "/css/imported.css", "style @import", "/"),
        ("broken_image", "/img/missing-style.png", "style url()", "/"),
        ("broken_image", "/img/missing-attr.png", "[style] url()", "/"),
    }
    assert not site.fetched("/img/in-a-comment.png")
    # Stylesheets are read, not counted as pages.
    assert result.stats["pages"] == 1


async def test_frames_and_iframes_are_crawled_as_pages(crawl: CrawlFn) -> None:
    site = ElementsSite(
        {
            "/": (
                "text/html",
                b'<html><frameset cols="50%,50%"><frame src="/left.html"><frame src="/gone.html">'
                b"</frameset></html>",
            ),
            "/left.html": html('<iframe src="/widget.html"></iframe><a href="/dead-from-frame">x</a>'),
            "/widget.html": html('<a href="/dead-from-iframe">y</a>'),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False)
    assert found(result, base) == {
        ("broken_resource", "/gone.html", "frame[src]", "/"),
        ("broken_link", "/dead-from-frame", "a[href]", "/left.html"),
        ("broken_link", "/dead-from-iframe", "a[href]", "/widget.html"),
    }
    assert result.stats["pages"] == 3


async def test_a_srcset_with_data_uris_reports_only_its_dead_candidate(crawl: CrawlFn) -> None:
    data = "data:image/png;base64," + "iVBORw0KGgo," * 5000 + "AAAA"
    site = ElementsSite(
        {
            "/": html(
                f'<img src="/ok.png" srcset="{data} 1x, /missing-2x.png 2x,/ok.png 3x" alt="">'
                '<picture><source srcset="data:image/svg+xml,%3Csvg%3E,%3C/svg%3E 1x">'
                '<img src="/ok.png"></picture>'
            ),
            "/ok.png": (PNG, b"png"),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False)
    assert found(result, base) == {("broken_image", "/missing-2x.png", "img[srcset]", "/")}
    assert not any("iVBOR" in r for r in site.requests)


async def test_text_fragments_are_directives_never_ids(crawl: CrawlFn) -> None:
    site = ElementsSite(
        {
            "/": html(
                '<a href="/doc#:~:text=free%20shipping">a</a>'
                '<a href="/doc#returns:~:text=30%20days">b</a>'
                '<a href="/doc#gone:~:text=x">c</a>'
                '<a href="#:~:text=here">d</a>'
            ),
            "/doc": html('<h2 id="returns">Returns</h2><p>free shipping, 30 days</p>'),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False)
    # Only the id before the directive is looked for, and named.
    assert found(result, base) == {("missing_fragment", "/doc#gone", "a[href]", "/")}
    assert result.one("missing_fragment", f"{base}/doc#gone").evidence["fragment"] == "gone"


async def test_a_legacy_page_query_is_requested_in_its_own_encoding(crawl: CrawlFn) -> None:
    page = '<a href="/search?q=Gr\xfc\xdfe">search</a><a href="/men\xfc">menu</a>'.encode("windows-1252")
    site = ElementsSite(
        {
            "/": ("text/html; charset=windows-1252", page),
            "/latin1": ("text/html; charset=iso-8859-1", b'<a href="/search?q=\xfc">x</a>'),
            "/search": html("results"),
            "/men\xfc": html("menu"),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False, start_paths=["/", "/latin1"])
    assert result.findings == []
    # The query in the page's encoding, the path in UTF-8, as a browser requests them.
    assert site.fetched("/search?q=Gr%FC%DFe")
    assert site.fetched("/search?q=%FC")
    assert site.fetched("/men%C3%BC")


async def test_malformed_urls_beside_dead_links_lose_nothing_and_the_check_fails(crawl: CrawlFn) -> None:
    site = ElementsSite(
        {
            "/": html(
                '<a href="http://[bad">v6</a><a href="//////">slashes</a>'
                '<a href="https://example]org/">bracket</a><a href="http://shop.test:99999/">port</a>'
                '<a href="/dead">dead</a><img src="/dead.png"><a href="/ok">ok</a>'
                '<a href="http:/">root</a><a href="http:">self</a>',
                head='<base href="http://[also-bad/"><link rel="stylesheet" href="/s.css">',
            ),
            "/s.css": (CSS, b".a { background: url(http://[css-bad) } .b { background: url(/dead-bg.png) }"),
            "/ok": html('<a href="/dead">again</a>'),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False)
    assert found(result, base) == {
        ("malformed_link", "http://[bad", "a[href]", "/"),
        ("malformed_link", "//////", "a[href]", "/"),
        ("malformed_link", "https://example]org/", "a[href]", "/"),
        ("malformed_link", "http://shop.test:99999/", "a[href]", "/"),
        ("malformed_link", "http://[css-bad", "css url()", "/s.css"),
        ("broken_link", "/dead", "a[href]", "/"),
        ("broken_image", "/dead.png", "img[src]", "/"),
        ("broken_image", "/dead-bg.png", "css url()", "/s.css"),
    }
    bad = result.one("malformed_link", "http://[bad")
    assert bad.severity is Severity.WARNING and "http://[bad" in bad.message and f"{base}/" in bad.message
    assert "port '99999'" in result.one("malformed_link", "http://shop.test:99999/").message
    assert result.one("broken_link", f"{base}/dead").sources == [f"{base}/", f"{base}/ok"]
    assert CheckResult(findings=result.findings).derived_status() == Status.FAIL


async def test_each_new_element_gives_its_kind_and_element_name(crawl: CrawlFn) -> None:
    site = ElementsSite(
        {
            "/": html(
                '<video src="/ok.mp4" poster="/gone/poster.jpg"><track src="/gone/subs.vtt"></video>'
                '<object data="/gone/manual.pdf"></object><embed src="/gone/tour.swf">'
                '<form><input type="image" src="/gone/pay.png"><input type="text" src="/never"></form>',
                head=(
                    '<link rel="manifest" href="/gone/site.webmanifest">'
                    '<link rel="apple-touch-icon" href="/gone/touch.png">'
                    '<link rel="modulepreload" href="/gone/app.js">'
                    '<meta property="og:image" content="/gone/share.jpg">'
                    '<meta name="twitter:image" content="/gone/card.jpg">'
                ),
            ),
            "/ok.mp4": ("video/mp4", b"mp4"),
        }
    )
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False)
    assert found(result, base) == {
        ("broken_image", "/gone/poster.jpg", "video[poster]", "/"),
        ("broken_resource", "/gone/subs.vtt", "track[src]", "/"),
        ("broken_resource", "/gone/manual.pdf", "object[data]", "/"),
        ("broken_resource", "/gone/tour.swf", "embed[src]", "/"),
        ("broken_image", "/gone/pay.png", "input[type=image]", "/"),
        ("broken_resource", "/gone/site.webmanifest", "link[rel=manifest]", "/"),
        ("broken_image", "/gone/touch.png", "link[rel=icon]", "/"),
        ("broken_resource", "/gone/app.js", "link[rel=modulepreload]", "/"),
        ("broken_share_image", "/gone/share.jpg", "meta[property=og:image]", "/"),
        ("broken_share_image", "/gone/card.jpg", "meta[name=twitter:image]", "/"),
    }
    share = result.one("broken_share_image", f"{base}/gone/share.jpg")
    assert share.severity is Severity.WARNING and "Share image" in share.message
    assert not site.fetched("/never")


async def test_an_idn_host_is_requested_as_punycode(crawl: CrawlFn) -> None:
    # .example never resolves: the request gets as far as DNS, which proves the URL was accepted.
    site = ElementsSite({"/": html('<a href="http://☃.example/gift">gift</a>')})
    with serve(site.app) as base:
        result = await crawl(base, sitemap=False, retries=0)
    f = result.one("broken_link", "http://xn--n3h.example/gift")
    assert "could not connect" in f.evidence["error"] and "Codepoint" not in f.message

"""The rendered crawl in a real Chromium against loopback shops: links and images only the
rendered DOM has are checked by the HTTP crawler (once), and what a customer's browser meets on
each page (failed requests by host, script and console errors) becomes findings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from auditor.results import CheckResult, Finding, Severity, Status
from tests.crawl.site import Site, serve
from tests.render.conftest import Resources, by_kind, run_crawl

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

GRID_JS = b"""
fetch('/api/products.json').then((r) => r.json()).then((items) => {
  const grid = document.getElementById('grid');
  for (const p of items) {
    const a = document.createElement('a');
    a.href = p.url;
    a.textContent = p.name;
    const img = document.createElement('img');
    img.className = 'lazy';
    img.setAttribute('data-src', p.image);
    a.appendChild(img);
    grid.appendChild(a);
  }
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) if (e.isIntersecting) { e.target.src = e.target.dataset.src; }
  });
  document.querySelectorAll('img.lazy').forEach((i) => io.observe(i));
});
"""
PRODUCTS = b"""[
  {"name": "Mug", "url": "/product/mug", "image": "/images?src=mug"},
  {"name": "Gone", "url": "/status/404?via=js", "image": "/images?src=missing&via=lazy"}
]"""


def third_party_js(third: str) -> bytes:
    # Like a payment provider's script switched off at the provider: a pixel that 404s, then a throw.
    return (
        f"(function() {{ const i = new Image(); i.src = '{third}/status/404?via=pixel';"
        " throw new Error('PayCo: merchant account disabled'); })();"
    ).encode()


@pytest.fixture(scope="module")
def third() -> Iterator[tuple[Site, str]]:
    site = Site()
    with serve(site.app) as url:
        site.files["/pay.js"] = ("text/javascript", third_party_js(url))
        yield site, url


@pytest.fixture(scope="module")
def shop(third: tuple[Site, str]) -> Iterator[tuple[Site, str]]:
    _, third_url = third
    site = Site(
        pages={
            "/": (
                '<!doctype html><html><body><a href="/about">About</a><a href="/errors">Errors</a>'
                '<div id="grid"></div><script src="/grid.js"></script>'
                '<div style="height:3000px"></div><img data-src="/images?src=below-fold" class="lazy2">'
                "<script>new IntersectionObserver((es) => es.forEach((e) => { if (e.isIntersecting) "
                "e.target.src = e.target.dataset.src; })).observe(document.querySelector('.lazy2'));"
                "</script></body></html>"
            ),
            "/about": (
                "<!doctype html><html><body><p>About us</p><a href='/'>Home</a>"
                "<script>console.error('newsletter widget: no list id');"
                "fetch('/status/500?via=fetch');</script></body></html>"
            ),
            "/errors": (
                "<!doctype html><html><body><p>Broken scripts</p>"
                f'<script src="{third_url}/pay.js"></script>'
                "<script>document.title = 'x'; undefinedFunction();</script></body></html>"
            ),
            "/product/mug": "<!doctype html><html><body><p>A mug</p><a href='/about'>About</a></body></html>",
        },
        files={
            "/grid.js": ("text/javascript", GRID_JS),
            "/api/products.json": ("application/json", PRODUCTS),
        },
    )
    with serve(site.app) as url:
        yield site, url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def crawled(
    browser: Any, shop: tuple[Site, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[CheckResult]:
    _, base = shop
    result, _ = await run_crawl(base + "/", tmp_path_factory.mktemp("r"), Resources(browser), sitemap=False)
    yield result


def one(result: CheckResult, kind: str, url: str) -> Finding:
    found = [f for f in result.findings if f.kind == kind and f.url == url]
    assert len(found) == 1, [(f.kind, f.url, f.key) for f in result.findings]
    return found[0]


async def test_links_inserted_by_javascript_are_crawled_and_checked(
    crawled: CheckResult, shop: tuple[Site, str]
) -> None:
    site, base = shop
    dead = one(crawled, "broken_link", f"{base}/status/404?via=js")
    assert dead.sources == [f"{base}/"]
    # The page only the product grid links to was crawled as a page.
    assert site.hits["GET /product/mug"] == 1
    assert crawled.stats["rendered_pages"] == 4
    assert crawled.stats["rendered_links"] >= 4


async def test_lazy_images_are_checked(crawled: CheckResult, shop: tuple[Site, str]) -> None:
    site, base = shop
    one(crawled, "broken_image", f"{base}/images?src=missing&via=lazy")
    # The image below the fold was loaded after scrolling and checked (alive: no finding).
    assert site.fetched("/images?src=below-fold") >= 1
    assert not [f for f in crawled.findings if "below-fold" in f.url or "src=mug" in f.url]
    # A dead image the crawl reports is not also a failed request of the page.
    assert not [f for f in by_kind(crawled, "page_request_failed") if "missing" in f.url]


async def test_no_second_fetch_of_what_the_http_crawl_checked(
    shop: tuple[Site, str], crawled: CheckResult
) -> None:
    site, _ = shop
    # Pages: fetched once by the crawler, and the browser was given that answer.
    for path in ("/", "/about", "/errors", "/product/mug"):
        assert site.hits[f"GET {path}"] == 1, (path, site.hits)
    # Links in the HTML and in the rendered DOM alike: checked once.
    assert site.fetched("/status/404?via=js") == 1
    # A lazy image: checked once by the crawler (HEAD, then GET on its 404); the browser's own
    # loads of it are the customer's view, not a check.
    assert site.hits["HEAD /images?src=missing&via=lazy"] == 1


async def test_first_party_failed_request_is_an_error(crawled: CheckResult, shop: tuple[Site, str]) -> None:
    _, base = shop
    f = one(crawled, "page_request_failed", f"{base}/status/500?via=fetch")
    assert f.severity == Severity.ERROR
    assert f.evidence["status"] == 500 and f.evidence["resource_type"] == "fetch"
    assert f.sources == [f"{base}/about"]
    assert "500" in f.message


async def test_third_party_failures_are_warnings_named_by_host(
    crawled: CheckResult, third: tuple[Site, str], shop: tuple[Site, str]
) -> None:
    _, third_url = third
    _, base = shop
    host = third_url.split("://", 1)[1]
    f = one(crawled, "page_request_failed", third_url + "/")
    assert f.severity == Severity.WARNING and f.key == host
    assert f.evidence["third_party"] is True and host in f.message
    assert f.sources == [f"{base}/errors"]
    s = one(crawled, "page_script_error", third_url + "/")
    assert s.severity == Severity.WARNING
    assert "merchant account disabled" in s.message and host in s.message


async def test_uncaught_exception_of_the_sites_own_script_is_an_error(
    crawled: CheckResult, shop: tuple[Site, str]
) -> None:
    _, base = shop
    own = [f for f in by_kind(crawled, "page_script_error") if f.severity == Severity.ERROR]
    assert len(own) == 1, own
    assert "undefinedFunction" in own[0].message
    assert own[0].sources == [f"{base}/errors"]


async def test_console_error_is_a_warning(crawled: CheckResult, shop: tuple[Site, str]) -> None:
    _, base = shop
    f = one(crawled, "page_console_error", f"{base}/about")
    assert f.severity == Severity.WARNING and "no list id" in f.message
    # The browser's own "Failed to load resource" lines are failed requests, not console errors.
    assert len(by_kind(crawled, "page_console_error")) == 1


async def test_the_check_fails_on_the_errors_and_stays_a_crawl(crawled: CheckResult) -> None:
    assert crawled.derived_status() == Status.FAIL
    assert crawled.stats["render_failed"] == 0
    kinds = {f.kind for f in crawled.findings}
    assert kinds == {
        "broken_link", "broken_image", "page_request_failed", "page_script_error", "page_console_error"
    }  # fmt: skip


async def test_a_healthy_javascript_page_gives_no_finding(browser: Any, tmp_path: Path) -> None:
    site = Site(
        pages={"/": "<!doctype html><html><body><div id='grid'></div><script src='/grid.js'></script>"},
        files={
            "/grid.js": ("text/javascript", GRID_JS),
            "/api/products.json": (
                "application/json",
                b'[{"name": "Mug", "url": "/product/mug", "image": "/images?src=mug"}]',
            ),
        },
    )
    site.pages["/product/mug"] = "<!doctype html><html><body>mug</body></html>"
    with serve(site.app) as base:
        result, _ = await run_crawl(base + "/", tmp_path, Resources(browser), sitemap=False)
    assert result.findings == []
    assert result.derived_status() == Status.PASS
    assert site.hits["GET /product/mug"] == 1


async def test_without_a_browser_the_check_errors_and_keeps_the_http_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_CHROMIUM", str(tmp_path / "no-such-chromium"))
    site = Site(pages={"/": "<!doctype html><html><body><a href='/status/404'>x</a></body></html>"})
    with serve(site.app) as base:
        result, _ = await run_crawl(base + "/", tmp_path, None, sitemap=False)
    assert result.status == Status.ERROR
    assert result.message is not None and "render = true" in result.message
    assert "does not exist" in result.message and "Install one of" in result.message
    assert {(f.kind, f.url) for f in result.findings} == {("broken_link", f"{base}/status/404")}

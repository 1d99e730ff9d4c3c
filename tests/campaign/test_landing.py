"""Landing pages against a loopback site, in real Chromium: every landing finding kind, and none
on the healthy pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio

from auditor.results import CheckResult, Finding
from tests.campaign.conftest import of_kind, run_campaign
from tests.crawl.site import Site, serve

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

UTM = "utm_source=news&utm_medium=email&utm_campaign=spring"


def page(body: str, head: str = "") -> str:
    return f"<!doctype html><html><head><title>t</title>{head}</head><body>{body}</body></html>"


def canonical(path: str) -> str:
    return f'<link rel="canonical" href="{path}">'


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Site, str]]:
    good = page('<a href="/about">About</a> <img src="/images?src=a" alt="a">', canonical("/landing/ok"))
    s = Site(
        pages={
            "/": page('<a href="/landing/ok">Sale</a> <a href="/landing/js">JS</a>'),
            "/about": page("About us"),
            "/landing/ok": good,
            "/landing/listed": page("Listed", canonical("/landing/listed")),
            "/landing/hidden": page("Hidden"),
            "/landing/meta": page("Meta", '<meta name="robots" content="noindex,follow">'),
            "/landing/hdr": page("Header"),
            "/landing/dup": page("Dup", canonical("/landing/ok")),
            "/landing/js": page("<p>Sale</p><script>undefinedFunction();</script>"),
            "/landing/jsredir": page("<script>location.replace('/landing/ok')</script>"),
            "/landing/dead": page(
                '<a href="/status/404?via=landing">Shop now</a> <img src="/images?src=missing" alt="x">'
            ),
        },
        headers={"/landing/hdr": {"X-Robots-Tag": "googlebot: noindex"}},
    )
    with serve(s.app) as url:
        s.files["/sitemap.xml"] = (
            "application/xml",
            (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{url}/landing/listed</loc></url></urlset>"
            ).encode(),
        )
        yield s, url


KEEP = f"/to?url={quote('/landing/ok?' + UTM, safe='')}&{UTM}"
DROP = f"/to?url={quote('/landing/ok', safe='')}&{UTM}"
LANDINGS = {
    "keep": KEEP,
    "drop": DROP,
    "listed": f"/landing/listed?{UTM}",
    "hidden": f"/landing/hidden?{UTM}",
    "meta": "/landing/meta",
    "hdr": "/landing/hdr",
    "dup": "/landing/dup",
    "js": "/landing/js",
    "jsredir": f"/landing/jsredir?{UTM}&gclid=abc",
    "dead": "/landing/dead",
    "broken": "/status/404",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def result(
    browser: Any, site: tuple[Site, str], tmp_path_factory: pytest.TempPathFactory
) -> CheckResult:
    _, base = site
    return await run_campaign(
        base, tmp_path_factory.mktemp("c"), browser, landing_urls=list(LANDINGS.values())
    )


def about(result: CheckResult, base: str, name: str) -> list[Finding]:
    """The findings whose URL or source is the landing URL `name` (or the page it ends on)."""
    url = base + LANDINGS[name]
    return [f for f in result.findings if url in (f.url, f.source)]


async def test_a_redirect_that_keeps_the_query_is_clean(result: CheckResult, site: tuple[Site, str]) -> None:
    _, base = site
    assert about(result, base, "keep") == []
    assert [f for f in result.findings if f.url.split("?")[0] == base + "/landing/ok"] == []


async def test_a_redirect_that_drops_the_query_loses_the_params(
    result: CheckResult, site: tuple[Site, str]
) -> None:
    _, base = site
    (f,) = [f for f in of_kind(result, "tracking_params_lost") if f.url == base + DROP]
    assert f.evidence["lost"] == ["utm_campaign", "utm_medium", "utm_source"]
    assert f.evidence["at"] == base + DROP
    assert [h["status"] for h in f.evidence["chain"]] == [302, 200]


async def test_a_script_that_redirects_without_the_params_loses_them(
    result: CheckResult, site: tuple[Site, str]
) -> None:
    _, base = site
    (f,) = [f for f in of_kind(result, "tracking_params_lost") if f.url == base + LANDINGS["jsredir"]]
    assert f.key == "browser"
    assert "gclid" in f.evidence["lost"]


async def test_noindex_in_a_meta_tag_or_a_header(result: CheckResult, site: tuple[Site, str]) -> None:
    _, base = site
    urls = {f.url for f in of_kind(result, "landing_page_noindex")}
    assert urls == {base + "/landing/meta", base + "/landing/hdr"}


async def test_a_canonical_to_another_page_is_a_warning(result: CheckResult, site: tuple[Site, str]) -> None:
    _, base = site
    (f,) = of_kind(result, "landing_page_canonical")
    assert f.url == base + "/landing/dup"
    assert f.evidence["canonical"] == base + "/landing/ok"


async def test_a_page_neither_linked_nor_in_the_sitemap_is_unreachable(
    result: CheckResult, site: tuple[Site, str]
) -> None:
    _, base = site
    unreachable = {f.url.split("?")[0] for f in of_kind(result, "landing_page_unreachable")}
    assert base + "/landing/hidden" in unreachable
    assert base + "/landing/listed" not in unreachable  # in the sitemap
    assert base + "/landing/ok" not in unreachable  # linked from the home page


async def test_a_dead_page_and_a_page_with_a_script_error_are_broken(
    result: CheckResult, site: tuple[Site, str]
) -> None:
    _, base = site
    broken = {f.url: f for f in of_kind(result, "landing_page_broken")}
    assert broken[base + "/status/404"].key == "http"
    assert "undefinedFunction" in broken[base + "/landing/js"].message
    assert broken[base + "/landing/js"].key == "browser"
    assert set(broken) == {base + "/status/404", base + "/landing/js"}


async def test_dead_links_and_images_on_a_landing_page(result: CheckResult, site: tuple[Site, str]) -> None:
    _, base = site
    links = {f.url: f for f in of_kind(result, "broken_link")}
    images = {f.url: f for f in of_kind(result, "broken_image")}
    assert set(links) == {base + "/status/404?via=landing"}
    assert links[base + "/status/404?via=landing"].source == base + "/landing/dead"
    assert set(images) == {base + "/images?src=missing"}


async def test_nothing_else_is_reported(result: CheckResult) -> None:
    assert {f.kind for f in result.findings} == {
        "tracking_params_lost",
        "landing_page_noindex",
        "landing_page_canonical",
        "landing_page_unreachable",
        "landing_page_broken",
        "broken_link",
        "broken_image",
    }
    assert result.status is None and result.message is None


async def test_without_a_browser_the_http_checks_still_run(site: tuple[Site, str], tmp_path: Path) -> None:
    _, base = site
    r = await run_campaign(
        base, tmp_path, browser=False, reachable=False, landing_urls=[DROP, "/landing/meta"]
    )
    assert {f.kind for f in r.findings} == {"tracking_params_lost", "landing_page_noindex"}


async def test_expected_price_on_the_landing_page(site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    s.pages["/landing/price"] = page("<p>Now only <b>19.20 USD</b></p>")
    ok = await run_campaign(
        base,
        tmp_path,
        browser=False,
        reachable=False,
        landing_urls=["/landing/price"],
        expected_price="19.20",
    )
    assert ok.findings == []
    bad = await run_campaign(
        base,
        tmp_path,
        browser=False,
        reachable=False,
        landing_urls=["/landing/price"],
        expected_price="17.99",
    )
    assert [f.kind for f in bad.findings] == ["price_mismatch"]

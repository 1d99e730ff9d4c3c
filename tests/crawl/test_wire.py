"""The crawl's aiohttp wire: the site's headers and cookies go to the site's hosts only, whatever
URL a page holds, and every failure is told in the same words as before."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from auditor.config import HostConfig
from auditor.http import site_headers
from tests.crawl.harness import CrawlFn
from tests.crawl.site import RawServer, Site, page, serve

HOSTS = {
    "shop.example": HostConfig(headers={"X-Token": "t"}, cookies={"session": "s", "cart": "c"}),
    "127.0.0.1:8080": HostConfig(headers={"X-Port": "yes"}),
}


def test_it_sends_a_host_its_headers_and_cookies_as_one_cookie_header() -> None:
    assert site_headers(HOSTS, "https://shop.example/p?q=1#f") == {
        "X-Token": "t",
        "Cookie": "session=s; cart=c",
    }
    assert site_headers(HOSTS, "https://user:pw@SHOP.example:8443/") == site_headers(
        HOSTS, "https://shop.example/"
    )
    assert site_headers(HOSTS, "http://127.0.0.1:8080/") == {"X-Port": "yes"}


def test_it_sends_nothing_to_other_hosts_or_lookalikes() -> None:
    for url in [
        "https://shop.example.evil.test/",
        "https://evil.test/?shop.example",
        "https://evil.test/#shop.example",
        "https://evil.test/shop.example",
        "https://shop.example@evil.test/",
        "http://127.0.0.1:8081/",
        "http://[::1]/",
    ]:
        assert site_headers(HOSTS, url) is None, url


@given(st.text(max_size=200))
def test_any_url_text_from_a_page_gets_headers_only_for_a_configured_host(url: str) -> None:
    out = site_headers(HOSTS, url)
    if out is not None:
        authority = url.split("://", 1)[-1].split("/")[0].split("?")[0].split("#")[0]
        host = authority.rpartition("@")[2].lower()
        assert host in HOSTS or host.rsplit(":", 1)[0] in HOSTS


@given(st.text(alphabet="htps:/[]@?#.:%x1", max_size=40))
def test_hostile_authorities_never_raise(url: str) -> None:
    site_headers(HOSTS, url)


async def test_interim_answers_and_resets_are_told_in_plain_words(crawl: CrawlFn) -> None:
    raw = RawServer()
    with raw.serve() as other, serve(Site(pages={"/": page(f"{other}/101", f"{other}/reset")}).app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{other}/101"), ("broken_link", f"{other}/reset")}
    assert "101 Switching Protocols" in result.one("broken_link", f"{other}/101").message
    reset = result.one("broken_link", f"{other}/reset").evidence["error"]
    assert reset.startswith("connection dropped:") and "aiohttp" not in reset

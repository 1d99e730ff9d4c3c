"""Redirects and odd statuses as a browser sees them: each one a finding a shop owner can act on."""

from __future__ import annotations

from auditor.results import Severity
from tests.crawl.harness import CrawlFn
from tests.crawl.site import RawServer, Site, page, serve


async def test_a_302_without_location_and_without_a_body_is_a_dead_link(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/nolocation")})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{base}/nolocation")}
    finding = result.one("broken_link", f"{base}/nolocation")
    assert finding.evidence["status"] == 302
    assert "without a Location header and with an empty body" in finding.message


async def test_a_302_without_location_but_with_a_body_shows_a_page_and_passes(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/nolocation?body=page", "/nolocation?body=Moved.")})
    with serve(site.app) as base:
        result = await crawl(base)
    # The browser shows that body as the page: its own dead link is found too.
    assert result.found == {("broken_link", f"{base}/status/404?via=nolocation")}


async def test_a_redirect_to_ftp_or_file_is_dead_and_said_in_plain_words(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/to?url=ftp://files.example/cat.pdf", "/to?url=file:///etc/passwd")})
    with serve(site.app) as base:
        result = await crawl(base)
    ftp, file = f"{base}/to?url=ftp://files.example/cat.pdf", f"{base}/to?url=file:///etc/passwd"
    assert result.found == {("broken_link", ftp), ("broken_link", file)}
    ftp_msg = result.one("broken_link", ftp).message
    assert "redirects to a ftp: address (ftp://files.example/cat.pdf)" in ftp_msg
    assert "a browser will not open" in ftp_msg
    assert "redirects to a file: address" in result.one("broken_link", file).message
    for f in result.findings:
        assert "unsupported protocol" not in f.message.lower()
        assert f.evidence["status"] == 302


async def test_a_malformed_location_is_a_finding_and_the_rest_of_the_page_is_still_checked(
    crawl: CrawlFn,
) -> None:
    site = Site(pages={"/": page("/to?url=http://[bad", "/status/404")})
    with serve(site.app) as base:
        result = await crawl(base)
    bad = f"{base}/to?url=http://[bad"
    assert result.found == {("broken_link", bad), ("broken_link", f"{base}/status/404")}
    assert (
        "the redirect's Location 'http://[bad' is not a valid URL" in result.one("broken_link", bad).message
    )


async def test_a_101_switching_protocols_is_dead_without_library_jargon(crawl: CrawlFn) -> None:
    raw = RawServer()
    with raw.serve() as other:
        site = Site(pages={"/": page(f"{other}/101", f"{other}/103")})
        with serve(site.app) as base:
            result = await crawl(base)
    # 103 Early Hints comes before the real answer: the page behind it is fine.
    assert result.found == {("broken_link", f"{other}/101")}
    finding = result.one("broken_link", f"{other}/101")
    assert "101 Switching Protocols" in finding.message
    assert "_SWITCH_UPGRADE" not in str(finding.message) + str(finding.evidence)
    assert finding.severity is Severity.ERROR


async def test_redirect_chain_hops_sets_how_long_a_chain_is_worth_a_warning(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/hops/2", "/hops/4")})
    with serve(site.app) as base:
        default = await crawl(base)
        strict = await crawl(base, redirect_chain_hops=2)
        lenient = await crawl(base, redirect_chain_hops=5)
    assert default.found == {("redirect_chain", f"{base}/hops/4")}
    assert strict.found == {("redirect_chain", f"{base}/hops/2"), ("redirect_chain", f"{base}/hops/4")}
    assert lenient.found == set()

"""What a page's browser met becomes findings, whatever the page made of it: hostile URLs,
messages and stacks never crash `page_findings`, and severities follow first/third party."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.check import CheckContext
from auditor.config import CrawlLimits, SiteConfig
from auditor.crawl.engine import Crawl
from auditor.crawl.render import ConsoleError, FailedRequest, MixedContent, PageException, RenderedPage
from auditor.crawl.render_hook import page_findings
from auditor.results import Severity

BASE = "http://shop.test/"


def new_crawl() -> Crawl:
    ctx = CheckContext(
        run_id="t", name="links", site=SiteConfig(base_url=BASE), base_url=BASE, report_dir=Path()
    )
    return Crawl(ctx, [], CrawlLimits(), start_paths=[BASE])


texts = st.text(max_size=80)
urls = st.one_of(texts, st.sampled_from(["http://shop.test/a", "https://cdn.other:8443/x.js", "data:,x", ""]))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(urls, st.one_of(st.none(), st.integers(0, 999)), st.one_of(st.none(), texts)), max_size=4
    ),
    st.lists(st.tuples(texts, st.one_of(st.none(), urls), texts), max_size=3),
    st.lists(st.tuples(texts, st.one_of(st.none(), urls)), max_size=3),
    st.lists(st.tuples(urls, texts), max_size=3),
    st.one_of(st.none(), texts),
)
def test_any_page_report_becomes_findings_without_crashing(
    failed: list[tuple[str, int | None, str | None]],
    exceptions: list[tuple[str, str | None, str]],
    console: list[tuple[str, str | None]],
    mixed: list[tuple[str, str]],
    error: str | None,
) -> None:
    crawl = new_crawl()
    rp = RenderedPage(
        url=BASE,
        failed_requests=[FailedRequest(u, "h", "GET", "fetch", s, e) for u, s, e in failed],
        exceptions=[PageException(m, u, st_) for m, u, st_ in exceptions],
        console_errors=[ConsoleError(t, u) for t, u in console],
        mixed_content=[MixedContent(u, el) for u, el in mixed],
        error=error,
    )
    page_findings(crawl, rp, BASE)
    for f in crawl.findings.values():
        assert f.message and f.sources == [BASE]


def test_first_party_errors_third_party_warnings() -> None:
    crawl = new_crawl()
    rp = RenderedPage(
        url=BASE,
        failed_requests=[
            FailedRequest("http://shop.test/api", "shop.test", "GET", "fetch", 500),
            FailedRequest("https://pay.example/px", "pay.example", "GET", "image", 404),
            FailedRequest(
                "https://pay.example/other", "pay.example", "GET", "image", None, "net::ERR_FAILED"
            ),
        ],
        exceptions=[PageException("boom", None), PageException("nope", "https://pay.example/w.js")],
    )
    page_findings(crawl, rp, BASE)
    got = {(f.kind, f.url, f.severity) for f in crawl.findings.values()}
    assert got == {
        ("page_request_failed", "http://shop.test/api", Severity.ERROR),
        ("page_request_failed", "https://pay.example/", Severity.WARNING),
        ("page_script_error", BASE, Severity.ERROR),
        ("page_script_error", "https://pay.example/", Severity.WARNING),
    }
    third = next(
        f
        for f in crawl.findings.values()
        if f.url == "https://pay.example/" and f.kind == "page_request_failed"
    )
    assert third.key == "pay.example" and len(third.evidence["examples"]) == 2

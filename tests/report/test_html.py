from __future__ import annotations

from html.parser import HTMLParser

from auditor.report import render_html
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity

from .runs import BASE, broken_link, make_run

EVIL = "<script>alert(1)</script>\"'"


class _Collector(HTMLParser):
    """Collects tags and attributes so tests can look at the page as a browser would."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.scripts += tag == "script"

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    return parser


def test_it_puts_errors_before_warnings_and_groups_them_by_check_then_kind(mixed_run: RunResult) -> None:
    text = _parse(render_html(mixed_run)).text
    order = [
        "What broke",
        "crawl: broken link (2)",
        "crawl: missing fragment (1)",
        "guest-checkout: scenario failed (1)",
        "Warnings",
        "crawl: redirect chain (1)",
        "Checks Check Status",
        "Stats pages",
    ]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_it_shows_how_to_reproduce_a_scenario_failure(mixed_run: RunResult) -> None:
    html = render_html(mixed_run)
    assert "Failing step: <strong>submit payment</strong>" in html
    assert "The pay button never became enabled" in html


def test_it_lists_skipped_and_errored_checks_with_their_messages(mixed_run: RunResult) -> None:
    html = render_html(mixed_run)
    assert "needs guest-checkout" in html
    assert "ledger timed out" in html
    assert "1 check(s) could not run (payment)" in html


def test_it_links_artifacts_relative_to_the_report_folder(mixed_run: RunResult) -> None:
    tags = _parse(render_html(mixed_run)).tags
    images = [attrs for tag, attrs in tags if tag == "img"]
    links = {attrs.get("href") for tag, attrs in tags if tag == "a"}
    assert images == [{"src": "checkout/failure.png", "alt": "failure screenshot", "loading": "lazy"}]
    assert {"checkout/failure.png", "checkout/trace.zip"} <= links


def test_it_escapes_site_text_everywhere() -> None:
    finding = Finding(
        kind="broken_link",
        severity=Severity.ERROR,
        url=f"{BASE}/{EVIL}",
        message=EVIL,
        source=f"javascript:{EVIL}",
        element=EVIL,
        evidence={"status": EVIL, "step": EVIL},
    )
    run = make_run([CheckResult(name=EVIL, kind="crawl", message=EVIL, findings=[finding])])
    html = render_html(run)
    parsed = _parse(html)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;" in html
    assert parsed.scripts == 1  # only the report's own filter script
    hrefs = [attrs.get("href") or "" for tag, attrs in parsed.tags if tag == "a"]
    assert not any(h.startswith("javascript:") for h in hrefs)


def test_it_says_nothing_broke_when_a_run_has_no_findings() -> None:
    run = make_run([CheckResult(name="crawl", kind="crawl", stats={"pages": 3})], RunStatus.PASS)
    html = render_html(run)
    assert "PASS: demo shop (nightly)" in html
    assert "Nothing a customer would hit is broken." in html
    assert "<h2>Warnings</h2>" not in html


def test_it_shows_the_first_twenty_pages_of_a_link_broken_everywhere() -> None:
    sources = [f"{BASE}/page/{i}" for i in range(10_000)]
    run = make_run([CheckResult(name="crawl", kind="crawl", findings=[broken_link(f"{BASE}/gone", sources)])])
    html = render_html(run)
    assert "Found on 10000 pages" in html
    assert f"{BASE}/page/19<" in html
    assert f"{BASE}/page/20<" not in html
    assert "and 9980 more pages" in html
    assert len(html) < 50_000


def test_it_stays_small_with_ten_thousand_findings() -> None:
    findings = [broken_link(f"{BASE}/gone/{i}", [f"{BASE}/list/{i}"]) for i in range(10_000)]
    run = make_run([CheckResult(name="crawl", kind="crawl", findings=findings)])
    html = render_html(run)
    assert "crawl: broken link (10000)" in _parse(html).text
    assert "and 9800 more broken link findings (all are in report.json)" in html
    assert len(html) < 1_000_000

from __future__ import annotations

from auditor.report import render_markdown
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity

from .runs import BASE, broken_link, make_run


def test_it_opens_with_a_status_line_and_a_table_of_checks(mixed_run: RunResult) -> None:
    lines = render_markdown(mixed_run).splitlines()
    assert lines[0] == f"## auditor: FAIL · nightly on `{BASE}`"
    assert lines[2].startswith("**[FAIL]** 2 check(s) found problems")
    assert "| crawl | FAIL | 3 | 1 | 12.5 s |" in lines
    assert "| order-email | SKIP | 0 | 0 | 0.0 s |" in lines
    assert "| payment | ERROR | 0 | 0 | 0.0 s |" in lines


def test_it_lists_failures_with_url_source_and_step(mixed_run: RunResult) -> None:
    md = render_markdown(mixed_run)
    assert "- **payment** error: ledger timed out" in md
    assert (
        f"- **crawl** broken\\_link: `{BASE}/img/logo.png` on `{BASE}/` (+1 more pages) — 404 Not Found" in md
    )
    assert "at step submit payment — The pay button never became enabled" in md
    assert "redirect" not in md.split("### Failures")[1]
    assert "Full report: `report.html`" in md


def test_it_caps_the_failures_at_fifty_lines() -> None:
    findings = [broken_link(f"{BASE}/gone/{i}", [f"{BASE}/"]) for i in range(120)]
    md = render_markdown(make_run([CheckResult(name="crawl", kind="crawl", findings=findings)]))
    failure_lines = [line for line in md.splitlines() if line.startswith("- **crawl**")]
    assert len(failure_lines) == 50
    assert "- and 70 more" in md


def test_it_escapes_markdown_in_site_text() -> None:
    finding = Finding(
        kind="broken_link",
        severity=Severity.ERROR,
        url=f"{BASE}/a`b c|d",
        message="**bold** | [link](http://x) <b>\nnext",
        source=f"{BASE}/s",
    )
    md = render_markdown(make_run([CheckResult(name="cr|awl", kind="crawl", findings=[finding])]))
    assert "| cr\\|awl | FAIL | 1 | 0 | 0.0 s |" in md
    assert f"`{BASE}/a%60bc|d`" in md
    assert "\\*\\*bold\\*\\* \\| \\[link\\](http://x) \\<b\\> next" in md


def test_it_has_no_failures_section_when_everything_passed() -> None:
    run = make_run([CheckResult(name="crawl", kind="crawl")], RunStatus.PASS)
    md = render_markdown(run)
    assert "**[PASS]** Every check passed. 0 error(s), 0 warning(s)." in md
    assert "### Failures" not in md

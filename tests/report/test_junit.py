from __future__ import annotations

import xml.etree.ElementTree as ET

from auditor.report import render_junit
from auditor.results import CheckResult, Finding, RunResult, Severity

from .runs import BASE, broken_link, make_run


def _cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "nightly"
    return {case.get("name", ""): case for case in suite.findall("testcase")}


def test_it_has_a_testcase_per_check_with_its_outcome(mixed_run: RunResult) -> None:
    cases = _cases(render_junit(mixed_run))
    assert {c.get("classname") for c in cases.values()} == {"auditor.nightly"}
    assert cases["sitemap"].find("*") is None
    assert cases["crawl"].find("failure") is not None
    assert cases["guest-checkout"].find("failure") is not None
    assert cases["order-email"].find("skipped") is not None
    error = cases["payment"].find("error")
    assert error is not None
    assert error.get("message") == "ledger timed out"


def test_it_has_a_failing_testcase_per_kind_of_error_finding(mixed_run: RunResult) -> None:
    cases = _cases(render_junit(mixed_run))
    failure = cases["crawl: broken_link"].find("failure")
    assert failure is not None
    assert failure.get("message") == "2 broken_link error(s)"
    assert failure.text is not None
    assert f"[error] {BASE}/img/logo.png on {BASE}/ (+1 more pages): 404 Not Found" in failure.text
    assert f"[error] {BASE}/old on {BASE}/blog: 410 Gone" in failure.text
    assert cases["crawl: missing_fragment"].find("failure") is not None
    assert cases["guest-checkout: scenario_failed"].find("failure") is not None


def test_it_passes_a_warnings_only_kind_and_lists_the_warnings(mixed_run: RunResult) -> None:
    case = _cases(render_junit(mixed_run))["crawl: redirect_chain"]
    assert case.find("failure") is None
    out = case.find("system-out")
    assert out is not None
    assert out.text == f"[warning] {BASE}/a on {BASE}/: 3 redirects before the page"


def test_it_counts_tests_failures_errors_and_skips(mixed_run: RunResult) -> None:
    suite = ET.fromstring(render_junit(mixed_run)).find("testsuite")
    assert suite is not None
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "9", "failures": "5", "errors": "1", "skipped": "1"}


def test_it_stays_valid_xml_whatever_the_site_says() -> None:
    nasty = 'bad \x00\x08\x1b byte <tag> & "quote" ]]> end'
    clean = 'bad  byte <tag> & "quote" ]]> end'
    # A lone surrogate can come from a badly decoded page; only the message carries it (it is not hashed).
    message = nasty + " \ud800"
    finding = Finding(kind="broken_link", severity=Severity.ERROR, url=f"{BASE}/{nasty}", message=message)
    run = make_run([CheckResult(name=f"crawl {nasty}", kind="crawl", message=message, findings=[finding])])
    cases = _cases(render_junit(run))
    failure = cases[f"crawl {clean}: broken_link"].find("failure")
    assert failure is not None
    assert failure.text == f"[error] {BASE}/{clean} on -: {clean} "


def test_it_reports_a_link_broken_on_many_pages_as_one_failure() -> None:
    sources = [f"{BASE}/page/{i}" for i in range(10_000)]
    run = make_run([CheckResult(name="crawl", kind="crawl", findings=[broken_link(f"{BASE}/gone", sources)])])
    failure = _cases(render_junit(run))["crawl: broken_link"].find("failure")
    assert failure is not None
    assert failure.get("message") == "1 broken_link error(s)"
    assert failure.text == f"[error] {BASE}/gone on {BASE}/page/0 (+9999 more pages): 404 Not Found"

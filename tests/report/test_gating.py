"""junit.xml and summary.md of a gate: known findings apart, warnings failing under --fail-on warning."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from auditor.report import Gating, render_junit, render_markdown
from auditor.results import CheckResult, Finding, RunResult, Severity

from .runs import BASE, broken_link, make_run


def crawl_run() -> RunResult:
    chain = Finding("redirect_chain", Severity.WARNING, f"{BASE}/a", "3 redirects", source=f"{BASE}/")
    findings = [broken_link(f"{BASE}/old", [f"{BASE}/"]), broken_link(f"{BASE}/new", [f"{BASE}/"]), chain]
    return make_run([CheckResult(name="crawl", kind="crawl", findings=findings)])


def cases(xml: str) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in ET.fromstring(xml).iter("testcase")}


def test_it_skips_a_kind_whose_findings_are_all_known_and_passes_the_check() -> None:
    run = crawl_run()
    known = frozenset(f.fingerprint for f in run.findings if f.kind == "broken_link")
    junit = cases(render_junit(run, Gating(known)))
    skipped = junit["crawl: broken_link"].find("skipped")
    assert skipped is not None and skipped.get("message") == "known: 2 broken_link finding(s) in the baseline"
    assert junit["crawl"].find("failure") is None
    assert "with known findings only" in (junit["crawl"].findtext("system-out") or "")


def test_it_fails_a_kind_with_a_new_finding_and_marks_the_known_ones() -> None:
    run = crawl_run()
    old = next(f for f in run.findings if f.url.endswith("/old"))
    junit = cases(render_junit(run, Gating(frozenset({old.fingerprint}))))
    failure = junit["crawl: broken_link"].find("failure")
    assert failure is not None
    assert failure.get("message") == "1 new broken_link finding(s) and 1 known in the baseline"
    assert f"[known] [error] {BASE}/old" in (failure.text or "")
    assert junit["crawl"].find("failure") is not None
    md = render_markdown(run, Gating(frozenset({old.fingerprint})), "Gate FAIL (exit 1): 1 new failure(s)")
    failures, known = md.split("### Failures")[1].split("### Known (in the baseline, not failing)")
    assert f"`{BASE}/new`" in failures and f"`{BASE}/old`" not in failures
    assert f"`{BASE}/old`" in known
    assert "**Gate FAIL (exit 1): 1 new failure(s)**" in md


def test_warnings_fail_when_the_gate_fails_on_warnings() -> None:
    run = crawl_run()
    known = frozenset(f.fingerprint for f in run.findings if f.kind == "broken_link")
    junit = cases(render_junit(run, Gating(known, Severity.WARNING)))
    assert junit["crawl: redirect_chain"].find("failure") is not None
    assert junit["crawl"].find("failure") is not None
    assert cases(render_junit(run, Gating(known)))["crawl: redirect_chain"].find("failure") is None


def test_a_flaky_check_shows_as_flaky_in_the_summary() -> None:
    flaky = CheckResult(
        name="checkout", kind="scenario", stats={"flaky": 1}, message="flaky: failed, then passed"
    )
    flaky.findings = [Finding("flaky_check", Severity.WARNING, BASE, "checkout failed, then passed")]
    md = render_markdown(make_run([flaky]))
    assert "| checkout | FLAKY | 0 | 1 |" in md

"""A crawl that was cut short, and a run auditor itself stumbled in, say so at the top of every report."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from auditor.cli import print_summary
from auditor.report import write_reports
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity


def cut_run(tmp_path: Path) -> RunResult:
    incomplete = Finding(
        "crawl_incomplete",
        Severity.WARNING,
        "http://shop.test/",
        "The crawl stopped short: 358 URL(s) were not visited (max_pages=500 reached: 358). Raise them.",
        evidence={"not_visited": 358, "by_reason": {"max_pages=500 reached": 358}, "verdict": "incomplete"},
    ).finalize("links", "http://shop.test/")
    check = CheckResult(findings=[incomplete], name="links", kind="crawl")
    now = datetime.now(UTC)
    return RunResult(
        "r1", "nightly", "shop", "http://shop.test/", "manual", now, RunStatus.WARN, now, [check], tmp_path
    )


def test_it_shows_a_cut_crawl_in_the_summary_line_summary_md_and_report_html(tmp_path: Path) -> None:
    run = cut_run(tmp_path)
    paths = write_reports(run, tmp_path)
    line = "links: cut short, 358 URL(s) not visited (max_pages=500 reached: 358)"
    out = io.StringIO()
    print_summary(run, out)
    assert out.getvalue().splitlines()[2] == f"  {line}"
    summary = paths["markdown"].read_text()
    assert f"> **Crawl cut short**: {line.replace('_', chr(92) + '_')}" in summary.splitlines()[:6]
    html = paths["html"].read_text()
    banner = html.index("Crawl cut short")
    assert banner < html.index("What broke") and "358 URL(s) not visited" in html[banner : banner + 300]


def test_it_shows_internal_errors_above_everything_else(tmp_path: Path) -> None:
    run = cut_run(tmp_path)
    run.internal_errors.append("the database could not record 2 finding(s): disk I/O error")
    run.status = RunStatus.ERROR
    paths = write_reports(run, tmp_path)
    out = io.StringIO()
    print_summary(run, out)
    assert "  ! the database could not record 2 finding(s): disk I/O error" in out.getvalue().splitlines()
    assert "auditor hit 1 internal error(s)" in paths["markdown"].read_text()
    assert 'type="internal"' in paths["junit"].read_text()
    assert paths["html"].read_text().index("disk I/O error") < paths["html"].read_text().index("What broke")


class Unshowable:
    def __str__(self) -> str:
        raise RuntimeError("cannot be shown")


def test_a_finding_a_report_cannot_show_is_shown_without_its_evidence(tmp_path: Path) -> None:
    run = cut_run(tmp_path)
    bad = Finding(
        "broken_link", Severity.ERROR, "http://shop.test/x", "x is gone", evidence={"o": Unshowable()}
    )
    run.checks[0].findings.append(bad.finalize("links", run.base_url))
    paths = write_reports(run, tmp_path)
    assert len(paths) == 4
    assert run.status == RunStatus.ERROR
    assert any("could not be shown whole" in e for e in run.internal_errors)
    html = paths["html"].read_text()
    assert "x is gone" in html and "auditor could not keep this finding" in html
    assert "x is gone" in paths["json"].read_text()

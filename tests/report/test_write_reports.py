from __future__ import annotations

import json
from pathlib import Path

from auditor.report import write_reports
from auditor.results import CheckResult, RunResult, RunStatus, Status

from .runs import make_run


def test_it_writes_every_report_into_a_new_folder(mixed_run: RunResult, tmp_path: Path) -> None:
    directory = tmp_path / "out" / "run-1"
    paths = write_reports(mixed_run, directory)
    assert paths == {
        "json": directory / "report.json",
        "html": directory / "report.html",
        "junit": directory / "junit.xml",
        "markdown": directory / "summary.md",
    }
    assert all(p.stat().st_size > 0 for p in paths.values())


def test_its_json_keeps_the_run_result_shape(mixed_run: RunResult, tmp_path: Path) -> None:
    data = json.loads(write_reports(mixed_run, tmp_path)["json"].read_text())
    assert {k: v for k, v in data.items() if k != "schema_version"} == mixed_run.to_dict()
    assert data["schema_version"] == 1
    assert data["run"]["status"] == "fail"
    assert len(data["findings"]) == 5


def test_it_writes_reports_for_a_run_without_checks(tmp_path: Path) -> None:
    paths = write_reports(make_run([], RunStatus.PASS), tmp_path)
    assert "Nothing a customer would hit is broken" in paths["html"].read_text()
    assert json.loads(paths["json"].read_text())["findings"] == []


def test_it_writes_reports_when_site_text_holds_a_lone_surrogate(tmp_path: Path) -> None:
    check = CheckResult(name="crawl", kind="crawl", status=Status.ERROR, message="page said \ud800")
    paths = write_reports(make_run([check]), tmp_path)
    assert "page said ?" in paths["markdown"].read_text()

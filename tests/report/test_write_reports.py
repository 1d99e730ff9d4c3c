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


def test_its_json_keeps_the_run_result_shape_and_adds_history_and_reproduce_fields(
    mixed_run: RunResult, tmp_path: Path
) -> None:
    data = json.loads(write_reports(mixed_run, tmp_path)["json"].read_text())
    added = {"new", "known_since", "open_days", "reproduce"}
    findings = [{k: v for k, v in f.items() if k not in added} for f in data["findings"]]
    shape = {k: v for k, v in data.items() if k not in {"schema_version", "history", "findings"}}
    assert {**shape, "findings": findings} == mixed_run.to_dict()
    assert all(added <= f.keys() for f in data["findings"])
    assert data["history"]["available"] is False
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

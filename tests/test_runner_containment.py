"""A run never stays `running`: real faults injected at each point after a check (keeping a finding,
the store, the reports, the alerts) end the run as `error`, stored, summarised, exit 3, and the
findings already made are kept."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from auditor import config
from auditor.check import Check, CheckContext
from auditor.cli import ExitCode, execute
from auditor.registry import register
from auditor.results import CheckResult, Finding, RunStatus, Severity
from auditor.store import Store

# Files made immutable by a test (root ignores chmod; `chattr +i` stops even root's writes).
FROZEN: dict[str, Path] = {}


def chattr(flag: str, path: Path) -> None:
    subprocess.run(["chattr", flag, str(path)], check=True)


class Unprintable:
    """Evidence a check author should never have put in a finding: it cannot even be shown."""

    def __str__(self) -> str:
        raise RuntimeError("no text for this object")

    __repr__ = __str__


class FaultOptions(BaseModel):
    dead: list[str] = []  # paths reported as broken_link errors
    slow: list[str] = []  # paths reported as slow_page warnings (the check still passes)
    unprintable: bool = False  # one more finding whose evidence cannot be serialized
    hostile_url: str = ""  # one more finding at this URL, as the email check makes from a link
    freeze: str = ""  # a FROZEN key: make that file immutable while the check runs
    thaw: str = ""  # a FROZEN key: make it writable again


@register
class FaultCheck(Check[FaultOptions]):
    kind = "test-fault"
    Options = FaultOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        o = self.options
        findings = [
            Finding("broken_link", Severity.ERROR, ctx.base_url.rstrip("/") + p, f"{p} answers 404")
            for p in o.dead
        ]
        findings += [
            Finding("slow_page", Severity.WARNING, ctx.base_url.rstrip("/") + p, f"{p} is slow")
            for p in o.slow
        ]
        if o.unprintable:
            findings.append(
                Finding(
                    "broken_link", Severity.ERROR, ctx.base_url, "evidence", evidence={"x": Unprintable()}
                )
            )
        if o.hostile_url:
            findings.append(Finding("email_broken_link", Severity.ERROR, o.hostile_url, "a dead link"))
        if o.freeze:
            chattr("+i", FROZEN[o.freeze])
        if o.thaw:
            chattr("-i", FROZEN[o.thaw])
        return CheckResult(findings=findings)


@pytest.fixture
def frozen() -> Iterator[dict[str, Path]]:
    yield FROZEN
    for path in FROZEN.values():
        if path.exists():
            chattr("-i", path)
    FROZEN.clear()


def settings_for(tmp_path: Path, checks: dict[str, dict[str, Any]], **extra: Any) -> config.Settings:
    return config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "database_url": f"sqlite:///{tmp_path / 'runs.db'}",
            "sites": {"shop": {"base_url": "http://127.0.0.1:9"}},
            "checks": {n: {"kind": "test-fault", **c.pop("options", {}), **c} for n, c in checks.items()},
            "audits": {"a": {"checks": list(checks)}},
            **extra,
        },
        environ={},
    )


def stored(tmp_path: Path, run_id: str) -> Any:
    store = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        return store.load_run(run_id)
    finally:
        store.close()


def test_it_keeps_a_finding_whose_evidence_cannot_be_serialized_and_ends_the_run_as_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, {"links": {"options": {"dead": ["/gone"], "unprintable": True}}})
    run, code = execute(settings, "a", quiet=True)
    assert code == ExitCode.INFRASTRUCTURE
    back = stored(tmp_path, run.id)
    assert back.status == RunStatus.ERROR
    kept = {f.url: f for f in back.findings}
    assert set(kept) == {"http://127.0.0.1:9/gone", "http://127.0.0.1:9"}
    assert (
        "auditor could not keep this finding's evidence"
        in kept["http://127.0.0.1:9"].evidence["auditor_error"]
    )
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("ERROR: audit 'a'")
    assert "! check links: one broken_link finding could not be kept whole" in out
    report = json.loads((run.report_dir / "report.json").read_text())  # type: ignore[operator]
    assert report["run"]["status"] == "error" and len(report["findings"]) == 2


def test_a_malformed_url_in_an_email_finding_never_leaves_the_run_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, {"email": {"options": {"hostile_url": "http://[bad", "dead": ["/x"]}}})
    run, code = execute(settings, "a", quiet=True)
    back = stored(tmp_path, run.id)
    assert back.status != RunStatus.RUNNING
    assert {f.url for f in back.findings} == {"http://[bad", "http://127.0.0.1:9/x"}
    # A site's URL is never an auditor error: once fingerprints read URLs as browsers do, this is 1.
    assert code == ExitCode.FAILURES and back.status == RunStatus.FAIL, capsys.readouterr().out


def test_a_database_made_read_only_mid_run_ends_the_run_as_error_with_every_finding_stored(
    tmp_path: Path, frozen: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    frozen["db"] = tmp_path / "runs.db"
    checks = {
        "first": {"options": {"slow": ["/a"], "freeze": "db"}},
        "second": {"needs": ["first"], "options": {"dead": ["/b"], "thaw": "db"}},
    }
    settings = settings_for(tmp_path, checks)
    run, code = execute(settings, "a", quiet=True)
    assert code == ExitCode.INFRASTRUCTURE
    out = capsys.readouterr().out
    assert "! the database could not record the result of check first" in out
    back = stored(tmp_path, run.id)
    assert back.status == RunStatus.ERROR
    # What the store refused while read-only was written when the run ended.
    assert {f.url for f in back.findings} == {"http://127.0.0.1:9/a", "http://127.0.0.1:9/b"}
    assert {c.name: str(c.status) for c in back.checks} == {"first": "warn", "second": "fail"}


def test_a_report_folder_that_cannot_be_written_ends_the_run_as_error(
    tmp_path: Path, frozen: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "out"
    frozen["reports"] = folder
    settings = settings_for(tmp_path, {"links": {"options": {"dead": ["/gone"], "freeze": "reports"}}})
    run, code = execute(settings, "a", quiet=True, report_dir=str(folder))
    assert code == ExitCode.INFRASTRUCTURE
    out = capsys.readouterr().out
    assert f"! the reports could not be written to {folder}" in out
    assert "broken_link: http://127.0.0.1:9/gone" in out
    back = stored(tmp_path, run.id)
    assert back.status == RunStatus.ERROR and len(back.findings) == 1
    assert not (folder / "report.json").exists()


def test_an_alert_channel_that_fails_ends_the_run_as_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = {"alerts": {"channels": {"ops": {"url": "json://127.0.0.1:1/hook"}}}}
    settings = settings_for(tmp_path, {"links": {"options": {"dead": ["/gone"]}}}, **alerts)
    run, code = execute(settings, "a", quiet=True, alerts=True)
    assert code == ExitCode.INFRASTRUCTURE
    out = capsys.readouterr().out
    assert "! alert channel 'ops' could not send the new message" in out
    back = stored(tmp_path, run.id)
    assert back.status == RunStatus.ERROR and len(back.findings) == 1
    report = json.loads((run.report_dir / "report.json").read_text())  # type: ignore[operator]
    assert report["run"]["status"] == "error"
    assert report["run"]["internal_errors"][0].startswith("alert channel 'ops' could not send")

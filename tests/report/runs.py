"""Runs built in code, so report tests need no other subsystem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity

BASE = "http://127.0.0.1:8000"
START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def make_run(checks: list[CheckResult], status: RunStatus = RunStatus.FAIL) -> RunResult:
    """A finished run of the `nightly` audit with `checks`, findings finalized as the runner does."""
    for c in checks:
        c.findings = [f.finalize(c.name, BASE) for f in c.findings]
    return RunResult(
        id="run-1",
        audit="nightly",
        site="demo shop",
        base_url=BASE,
        trigger="schedule",
        started_at=START,
        finished_at=START + timedelta(seconds=42),
        status=status,
        checks=checks,
    )


def broken_link(url: str, sources: list[str], status: int = 404, message: str = "404 Not Found") -> Finding:
    return Finding(
        kind="broken_link",
        severity=Severity.ERROR,
        url=url,
        message=message,
        sources=sources,
        evidence={"status": status, "final_url": url, "attempts": 1},
    )

"""The runner with small check kinds registered here, exactly as plugins register theirs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from auditor import config
from auditor.check import Check, CheckContext
from auditor.errors import NothingMatched
from auditor.registry import register
from auditor.results import CheckResult, Finding, RunStatus, Severity, Status
from auditor.runner import RunOptions, run_audit
from auditor.store import Store

BARRIER: dict[str, asyncio.Barrier] = {}
GATES: dict[str, asyncio.Event] = {}


class ScriptOptions(BaseModel):
    findings: list[str] = []  # URLs reported as broken_link errors
    warnings: list[str] = []
    raise_error: str = ""
    sleep_s: float = 0.0
    rendezvous: str = ""  # meet another check at this barrier: proves they run at the same time
    wait_for: str = ""  # emit findings, then wait for this gate (set by the test)
    output: str = ""


@register
class ScriptCheck(Check[ScriptOptions]):
    kind = "test-script"
    Options = ScriptOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        o = self.options
        for url in o.findings:
            url = ctx.base_url.rstrip("/") + url if url.startswith("/") else url
            ctx.emit(Finding("broken_link", Severity.ERROR, url, f"{url} is broken", source=ctx.base_url))
        for url in o.warnings:
            ctx.emit(Finding("redirect_chain", Severity.WARNING, url, "long chain"))
        if o.rendezvous:
            await asyncio.wait_for(BARRIER[o.rendezvous].wait(), 5)
        if o.wait_for:
            await GATES[o.wait_for].wait()
        if o.sleep_s:
            await asyncio.sleep(o.sleep_s)
        if o.raise_error:
            raise RuntimeError(o.raise_error)
        return CheckResult(outputs={"seen": dict(ctx.outputs), "value": o.output}, stats={"pages": 1})


def settings_for(
    tmp_path: Path, checks: dict[str, dict[str, Any]], audit: list[str], **site: Any
) -> config.Settings:
    return config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "sites": {"shop": {"base_url": "http://127.0.0.1:9", **site}},
            "checks": {n: {"kind": "test-script", **c} for n, c in checks.items()},
            "audits": {"a": {"checks": audit}},
        },
        environ={"TOKEN": "tok-12345-secret"},
    )


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    yield s
    s.close()


async def test_independent_checks_run_at_the_same_time(tmp_path: Path, store: Store) -> None:
    BARRIER["meet"] = asyncio.Barrier(2)
    settings = settings_for(tmp_path, {"a": {"rendezvous": "meet"}, "b": {"rendezvous": "meet"}}, ["a", "b"])
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    assert [c.derived_status() for c in run.checks] == [Status.PASS, Status.PASS]
    assert run.status == RunStatus.PASS


async def test_a_check_whose_needs_failed_is_skipped_with_the_reason(tmp_path: Path, store: Store) -> None:
    settings = settings_for(
        tmp_path,
        {"checkout": {"findings": ["http://127.0.0.1:9/pay"]}, "email": {"needs": ["checkout"]}},
        ["email"],
    )
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    by_name = {c.name: c for c in run.checks}
    assert by_name["checkout"].derived_status() == Status.FAIL
    assert by_name["email"].status == Status.SKIP
    assert by_name["email"].message == "skipped: checkout did not pass"
    assert run.status == RunStatus.FAIL


async def test_outputs_flow_to_the_checks_that_need_them(tmp_path: Path, store: Store) -> None:
    settings = settings_for(
        tmp_path, {"checkout": {"output": "order-42"}, "email": {"needs": ["checkout"]}}, ["email"]
    )
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    email = next(c for c in run.checks if c.name == "email")
    assert email.outputs["seen"]["checkout"]["value"] == "order-42"


async def test_an_exception_in_a_check_is_an_error_not_a_crash(tmp_path: Path, store: Store) -> None:
    settings = settings_for(tmp_path, {"boom": {"raise_error": "kaputt"}, "fine": {}}, ["boom", "fine"])
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    by_name = {c.name: c for c in run.checks}
    assert by_name["boom"].status == Status.ERROR
    assert by_name["boom"].message == "internal error: RuntimeError: kaputt"
    assert by_name["fine"].derived_status() == Status.PASS
    assert run.status == RunStatus.ERROR


async def test_a_check_over_its_time_limit_keeps_what_it_found(tmp_path: Path, store: Store) -> None:
    settings = settings_for(
        tmp_path, {"slow": {"sleep_s": 30, "timeout_s": 0.2, "findings": ["http://127.0.0.1:9/x"]}}, ["slow"]
    )
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    (slow,) = run.checks
    assert slow.message == "did not finish within its time limit of 0.2 s"
    assert [f.url for f in slow.findings] == ["http://127.0.0.1:9/x"]
    assert slow.derived_status() == Status.FAIL


async def test_findings_are_recorded_before_the_check_finishes(tmp_path: Path, store: Store) -> None:
    GATES["stored"] = asyncio.Event()
    settings = settings_for(
        tmp_path, {"crawl": {"findings": ["http://127.0.0.1:9/a"], "wait_for": "stored"}}, ["crawl"]
    )
    task = asyncio.create_task(run_audit(settings, "a", RunOptions(recorder=store, run_id="r-stream")))
    reader = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        for _ in range(50):
            loaded = await asyncio.to_thread(reader.load_run, "r-stream")
            if loaded and loaded.findings:
                break
            await asyncio.sleep(0.1)
        assert loaded is not None and [f.url for f in loaded.findings] == ["http://127.0.0.1:9/a"]
        assert loaded.status == RunStatus.RUNNING
    finally:
        GATES["stored"].set()
        reader.close()
    run = await task
    assert run.status == RunStatus.FAIL


async def test_secrets_never_reach_findings_store_or_reports(tmp_path: Path, store: Store) -> None:
    settings = settings_for(
        tmp_path,
        {"leak": {"findings": ["http://127.0.0.1:9/p?token=tok-12345-secret"]}},
        ["leak"],
        headers={"Authorization": "Bearer ${TOKEN}"},
    )
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    assert run.findings[0].url == "http://127.0.0.1:9/p?token=**********"
    assert run.report_dir is not None
    for name in ("report.json", "report.html", "junit.xml", "summary.md"):
        assert "tok-12345-secret" not in (run.report_dir / name).read_text()
    stored = store.load_run(run.id)
    assert stored is not None and "tok-12345-secret" not in json.dumps([f.to_dict() for f in stored.findings])


async def test_the_same_finding_on_production_and_a_preview_has_one_fingerprint(
    tmp_path: Path, store: Store
) -> None:
    settings = settings_for(tmp_path, {"c": {"findings": ["/gone", "http://elsewhere.test/x"]}}, ["c"])
    prod = await run_audit(settings, "a", RunOptions(recorder=store))
    preview = await run_audit(settings, "a", RunOptions(recorder=store, base_url="http://127.0.0.2:9"))
    assert preview.findings[0].url == "http://127.0.0.2:9/gone"
    assert [f.fingerprint for f in prod.findings] == [f.fingerprint for f in preview.findings]
    assert prod.findings[0].fingerprint != prod.findings[1].fingerprint


async def test_an_unknown_audit_matches_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, {"c": {}}, ["c"])
    with pytest.raises(NothingMatched, match="no audit named 'nope' \\(known: a\\)"):
        await run_audit(settings, "nope")


async def test_every_run_writes_its_four_reports(tmp_path: Path, store: Store) -> None:
    settings = settings_for(tmp_path, {"c": {"warnings": ["http://127.0.0.1:9/r"]}}, ["c"])
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    assert run.status == RunStatus.WARN
    assert run.report_dir == tmp_path / "reports" / run.id
    data = json.loads((run.report_dir / "report.json").read_text())
    assert data["run"]["id"] == run.id
    assert data["findings"][0]["kind"] == "redirect_chain"
    assert {p.name for p in run.report_dir.iterdir()} >= {
        "report.json",
        "report.html",
        "junit.xml",
        "summary.md",
    }


@register
class TolerantCheck(ScriptCheck):
    """Like a payment check: it must look at a purchase that failed."""

    kind = "test-tolerant"
    tolerates_failed_needs = True


async def test_a_tolerant_check_runs_after_a_failed_need_that_left_outputs(
    tmp_path: Path, store: Store
) -> None:
    settings = settings_for(
        tmp_path,
        {
            "checkout": {"findings": ["http://127.0.0.1:9/pay"], "output": "order-7"},
            "ledger": {"kind": "test-tolerant", "needs": ["checkout"]},
            "email": {"needs": ["checkout"]},
        },
        ["ledger", "email"],
    )
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    by_name = {c.name: c for c in run.checks}
    assert by_name["checkout"].derived_status() == Status.FAIL
    assert by_name["ledger"].derived_status() == Status.PASS
    assert by_name["ledger"].outputs["seen"]["checkout"]["value"] == "order-7"
    assert by_name["email"].status == Status.SKIP


async def test_a_tolerant_check_is_skipped_after_a_need_that_errored_or_was_skipped(
    tmp_path: Path, store: Store
) -> None:
    settings = settings_for(
        tmp_path,
        {
            "boom": {"raise_error": "kaputt"},
            "after-error": {"kind": "test-tolerant", "needs": ["boom"]},
            "skipped": {"needs": ["boom"]},
            "after-skip": {"kind": "test-tolerant", "needs": ["skipped"]},
        },
        ["after-error", "after-skip"],
    )
    run = await run_audit(settings, "a", RunOptions(recorder=store))
    by_name = {c.name: c for c in run.checks}
    assert by_name["after-error"].message == "skipped: boom did not pass"
    assert by_name["after-skip"].message == "skipped: skipped did not pass"

"""The gate's one re-run of a failed check, and its time budget, through the runner itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from auditor import config
from auditor.check import Check, CheckContext
from auditor.gate.verdict import decide
from auditor.registry import register
from auditor.report.view import Gating
from auditor.results import CheckResult, Finding, RunResult, Severity, Status
from auditor.runner import RunOptions, run_audit
from auditor.store import PaymentMark, Store
from auditor.store.marks import CURRENT

ATTEMPTS: dict[str, int] = {}


class FlakyOptions(BaseModel):
    fail_times: int = 1  # fail this many attempts, then pass
    how: str = "finding"  # "finding": a broken_link error; "raise": an exception; "paid": fail after paying
    sleep_s: float = 0.0


@register
class FlakyCheck(Check[FlakyOptions]):
    kind = "test-flaky"
    Options = FlakyOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        key = f"{ctx.run_id}:{self.name}"
        ATTEMPTS[key] = attempt = ATTEMPTS.get(key, 0) + 1
        if self.options.sleep_s:
            await asyncio.sleep(self.options.sleep_s)
        if attempt > self.options.fail_times:
            return CheckResult(outputs={"attempt": attempt})
        if self.options.how == "raise":
            raise RuntimeError(f"attempt {attempt} blew up")
        stats = {"payment_submitted": 1} if self.options.how == "paid" else {}
        ctx.emit(Finding("broken_link", Severity.ERROR, f"{ctx.base_url}/gone", f"attempt {attempt}: 404"))
        return CheckResult(stats=stats, outputs={"attempt": attempt})


@register
class OrderingCheck(FlakyCheck):
    kind = "test-places-order"
    places_order: ClassVar[bool] = True


def settings_for(tmp_path: Path, checks: dict[str, dict[str, Any]]) -> config.Settings:
    return config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "sites": {"shop": {"base_url": "http://127.0.0.1:9"}},
            "checks": checks,
            "audits": {"gate": {"checks": list(checks)}},
        },
        environ={},
    )


async def gate_run(tmp_path: Path, checks: dict[str, dict[str, Any]], **opts: Any) -> RunResult:
    options = RunOptions(trigger="gate", rerun_failed=True, write_reports=False, **opts)
    return await run_audit(settings_for(tmp_path, checks), "gate", options)


def attempts(run: RunResult, name: str) -> int:
    return ATTEMPTS[f"{run.id}:{name}"]


def by_name(run: RunResult) -> dict[str, CheckResult]:
    return {c.name: c for c in run.checks}


async def test_a_check_that_fails_then_passes_is_flaky_never_a_silent_pass(tmp_path: Path) -> None:
    run = await gate_run(tmp_path, {"home": {"kind": "test-flaky"}})
    home = by_name(run)["home"]
    assert attempts(run, "home") == 2
    assert home.derived_status() == Status.WARN
    assert home.stats["flaky"] == 1
    [flaky] = home.findings
    assert (flaky.kind, flaky.severity) == ("flaky_check", Severity.WARNING)
    assert "the first failure: broken_link at http://127.0.0.1:9/gone: attempt 1: 404" in flaky.message
    assert decide(run, Gating()).code == 0
    assert decide(run, Gating(fail_on=Severity.WARNING)).code == 1


async def test_a_check_that_errors_then_passes_is_flaky_too(tmp_path: Path) -> None:
    run = await gate_run(tmp_path, {"home": {"kind": "test-flaky", "how": "raise"}})
    home = by_name(run)["home"]
    assert home.derived_status() == Status.WARN
    assert "internal error: RuntimeError: attempt 1 blew up" in home.findings[0].message


async def test_a_check_that_fails_twice_fails_with_its_second_findings(tmp_path: Path) -> None:
    run = await gate_run(tmp_path, {"home": {"kind": "test-flaky", "fail_times": 5}})
    home = by_name(run)["home"]
    assert attempts(run, "home") == 2
    assert home.derived_status() == Status.FAIL
    assert [f.message for f in home.findings] == ["attempt 2: 404"]
    assert home.stats["reruns"] == 1
    assert decide(run, Gating()).code == 1


async def test_a_check_that_places_orders_is_never_re_run_nor_what_needs_it(tmp_path: Path) -> None:
    checks = {
        "buy": {"kind": "test-places-order", "fail_times": 0},
        "after": {"kind": "test-flaky", "needs": ["buy"]},
        "order-fails": {"kind": "test-places-order"},
    }
    run = await gate_run(tmp_path, checks)
    results = by_name(run)
    assert attempts(run, "order-fails") == 1 and results["order-fails"].derived_status() == Status.FAIL
    assert attempts(run, "after") == 1 and results["after"].derived_status() == Status.FAIL


async def test_a_check_that_submitted_a_payment_is_never_re_run(tmp_path: Path) -> None:
    run = await gate_run(tmp_path, {"pay": {"kind": "test-flaky", "how": "paid"}})
    assert attempts(run, "pay") == 1
    assert by_name(run)["pay"].derived_status() == Status.FAIL


async def test_a_scenario_that_places_orders_is_never_re_run(tmp_path: Path) -> None:
    # The bundled guest-checkout places an order; nothing listens on port 9, so it fails at once.
    checks = {"checkout": {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"]}}
    settings = config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "sites": {"shop": {"base_url": "http://127.0.0.1:9", "allow_orders": True}},
            "checks": checks,
            "audits": {"gate": {"checks": ["checkout"]}},
        },
        environ={},
    )
    run = await run_audit(settings, "gate", RunOptions(rerun_failed=True, write_reports=False))
    checkout = by_name(run)["checkout"]
    assert checkout.derived_status() in (Status.FAIL, Status.ERROR)
    assert "reruns" not in checkout.stats and "flaky" not in checkout.stats


async def test_without_the_option_nothing_is_re_run(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, {"home": {"kind": "test-flaky"}})
    run = await run_audit(settings, "gate", RunOptions(write_reports=False))
    assert attempts(run, "home") == 1 and by_name(run)["home"].derived_status() == Status.FAIL


async def test_the_time_budget_cuts_checks_and_the_gate_cannot_pass(tmp_path: Path) -> None:
    checks = {
        "slow": {"kind": "test-flaky", "fail_times": 0, "sleep_s": 5},
        "later": {"kind": "test-flaky", "fail_times": 0, "needs": ["slow"]},
    }
    run = await gate_run(tmp_path, checks, time_budget_s=0.3)
    slow, later = by_name(run)["slow"], by_name(run)["later"]
    assert slow.derived_status() == Status.ERROR
    assert (
        slow.message == "time budget exceeded: slow was cut by the run's time budget of 0.3 s (--time-budget)"
    )
    assert later.derived_status() == Status.SKIP
    verdict = decide(run, Gating())
    assert verdict.code == 3 and verdict.budget_exceeded
    assert "time budget exceeded" in verdict.line()


class MarkingOptions(BaseModel):
    then: str = "hang"  # after the payment step: "hang" past the time limit, or "raise"


@register
class MarkingCheck(Check[MarkingOptions]):
    """Reaches a payment step as a scenario does (the mark through the run's context), then breaks."""

    kind = "test-marks-payment"
    Options = MarkingOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        key = f"{ctx.run_id}:{self.name}"
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        marking = CURRENT.get()
        assert marking is not None, "the runner gives every check its marking"
        marking.record("shop-checkout", "Pay", "ada@example.com")
        if self.options.then == "raise":
            raise RuntimeError("the browser crashed after the click")
        await asyncio.sleep(60)
        return CheckResult()


@pytest.mark.parametrize("then", ["hang", "raise"])
async def test_a_check_that_reached_its_payment_step_is_never_re_run_however_it_ended(
    tmp_path: Path, then: str
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        checks = {"buy": {"kind": "test-marks-payment", "then": then, "timeout_s": 1}}
        run = await gate_run(tmp_path, checks, recorder=store)
        buy = by_name(run)["buy"]
        assert attempts(run, "buy") == 1
        assert buy.derived_status() == Status.ERROR and buy.stats["payment_submitted"] == 1
        assert (
            buy.outputs["customer"] == {"email": "ada@example.com"} and buy.outputs["payment_step"] == "Pay"
        )
        assert "it had reached the step 'Pay'" in (buy.message or "")
        (mark,) = store.marks_for_run(run.id)
        assert (mark.check, mark.scenario, mark.email) == ("buy", "shop-checkout", "ada@example.com")
    finally:
        store.close()


async def test_a_later_process_given_the_same_run_refuses_a_check_that_reached_its_payment_step(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = Store.open(url)
    first.record_payment_mark(PaymentMark.now("run-1", "buy", "shop-checkout", "Pay", "ada@example.com"))
    first.close()
    store = Store.open(url)  # another process, a worker picking the run up again
    try:
        checks = {"buy": {"kind": "test-marks-payment"}}
        run = await gate_run(tmp_path, checks, recorder=store, run_id="run-1")
        buy = by_name(run)["buy"]
        assert "run-1:buy" not in ATTEMPTS
        assert buy.derived_status() == Status.ERROR and "not run again" in (buy.message or "")
        assert buy.stats["payment_submitted"] == 1
    finally:
        store.close()

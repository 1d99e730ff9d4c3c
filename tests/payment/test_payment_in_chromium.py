"""The payment check after real purchases in Chromium: the bundled `decline-then-approve` and
`double-click-pay` scenarios against the real demo shop, reconciled with its ledger. Each fault
gives exactly its finding; the healthy shop gives none (a declined card is not a charge)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import config
from auditor.browser.launch import SharedBrowser
from auditor.results import RunResult, Status
from auditor.runner import RunOptions, run_audit
from tests.payment.buyer import Shops

# One Chromium for the module (tests/flows.py's shared_browser), on the module's event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

CHECKS = {
    "decline-then-approve": {"kind": "scenario", "scenario": "decline-then-approve", "paths": ["bundled"]},
    "double-click": {"kind": "scenario", "scenario": "double-click-pay", "paths": ["bundled"]},
    "payment": {
        "kind": "payment",
        "needs": ["decline-then-approve", "double-click"],
        "settle_s": 1,
        "wait_s": 5,
    },
}


async def audit(base_url: str, tmp_path: Path, browser: SharedBrowser) -> RunResult:
    settings = config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "sites": {"demo": {"base_url": base_url, "allow_orders": True}},
            "checks": CHECKS,
            "audits": {"a": {"checks": ["payment"]}},
        },
        environ={},
    )
    return await run_audit(settings, "a", RunOptions(write_reports=False, browser=browser))


def payment_findings(run: RunResult) -> list[tuple[str, str]]:
    (check,) = [c for c in run.checks if c.name == "payment"]
    return sorted((f.kind, f.key) for f in check.findings)


async def test_the_healthy_shop_holds_exactly_the_charges_the_pages_claimed(
    shops: Shops, shared_browser: SharedBrowser, tmp_path: Path
) -> None:
    run = await audit(shops().base_url, tmp_path, shared_browser)
    statuses = {c.name: c.derived_status() for c in run.checks}
    assert statuses == {
        "decline-then-approve": Status.PASS,
        "double-click": Status.PASS,
        "payment": Status.PASS,
    }
    assert payment_findings(run) == []


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        # The good card is charged, the page says declined: the customer pays again elsewhere.
        (
            "declined-after-charge",
            # The order is never marked paid, so the double click's second submission is charged too.
            [
                ("charged_but_declined", "decline-then-approve"),
                ("charged_but_declined", "double-click"),
                ("double_charge", "double-click"),
            ],
        ),
        # The pay button is not idempotent: the double click charges twice.
        ("double-submit", [("double_charge", "double-click")]),
    ],
)
async def test_a_hidden_charge_is_found_in_the_ledger(
    shops: Shops, shared_browser: SharedBrowser, tmp_path: Path, fault: str, expected: list[tuple[str, str]]
) -> None:
    run = await audit(shops(fault).base_url, tmp_path, shared_browser)
    assert payment_findings(run) == expected

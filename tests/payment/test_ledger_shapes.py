"""The payment check against ledgers shaped as real providers shape them: the demo shop's `ledger`
behaviour (decimal strings, nested records with JSON numbers, a `next` URL, a cursor), after a real
purchase in Chromium. With `double-submit` on, the double click charges twice: the check must find
both charges (on two pages, for the paginated shapes) and read each amount as the 497.00 USD paid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor import config
from auditor.browser.launch import SharedBrowser
from auditor.results import RunResult
from auditor.runner import RunOptions, run_audit
from tests.payment.buyer import Shops

# One Chromium for the module (tests/flows.py's shared_browser), on the module's event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SHAPES: dict[str, dict[str, Any]] = {
    "minor": {},
    "decimal": {},
    "nested": {
        "amount_field": "data.charges[*].amount.value",
        "currency_field": "data.charges[*].amount.currency",
        "status_field": "data.charges[*].state",
        "succeeded_values": ["SUCCEEDED"],
        "captured_field": "data.charges[*].capture.captured",
        "order_field": "data.charges[*].metadata.order",
    },
    "paginated": {"items_field": "data", "next_field": "next"},
    "cursor": {"items_field": "items", "cursor_field": "meta.next_cursor", "cursor_param": "cursor"},
}


async def audit(base_url: str, tmp_path: Path, ledger: dict[str, Any], browser: SharedBrowser) -> RunResult:
    settings = config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "sites": {"demo": {"base_url": base_url, "allow_orders": True}},
            "checks": {
                "double-click": {"kind": "scenario", "scenario": "double-click-pay", "paths": ["bundled"]},
                "payment": {
                    "kind": "payment",
                    "needs": ["double-click"],
                    "settle_s": 1,
                    "wait_s": 5,
                    "ledger": {"kind": "http", **ledger},
                },
            },
            "audits": {"a": {"checks": ["payment"]}},
        },
        environ={},
    )
    return await run_audit(settings, "a", RunOptions(write_reports=False, browser=browser))


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_it_finds_a_double_charge_in_a_ledger_shaped_like_a_real_providers(
    shops: Shops, shared_browser: SharedBrowser, tmp_path: Path, shape: str
) -> None:
    run = await audit(
        shops("double-submit", f"ledger={shape}").base_url, tmp_path, SHAPES[shape], shared_browser
    )
    payment = next(c for c in run.checks if c.name == "payment")
    assert [f.kind for f in payment.findings] == ["double_charge"], payment.message
    charges = payment.outputs["charges"]["double-click"]
    assert [(c["amount_minor"], c["currency"], c["status"]) for c in charges] == [
        (49700, "USD", "succeeded"),
        (49700, "USD", "succeeded"),
    ]
    assert "497.00 USD" in payment.findings[0].message

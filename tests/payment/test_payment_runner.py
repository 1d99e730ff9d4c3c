"""The payment check run by the runner after a purchase check, against the real demo shop.

The purchase here is a small check kind registered by this test (HTTP form posts, as a plugin
would register one), so the runner's side is tested without a browser: outputs flow through
`needs`, and a failed purchase still lets the payment check read the ledger.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import BaseModel

from auditor import config
from auditor.check import Check, CheckContext
from auditor.registry import register
from auditor.results import CheckResult, Finding, RunStatus, Severity, Status
from auditor.runner import RunOptions, run_audit
from auditor.store import Store
from tests.demo.shopper import APPROVE
from tests.payment.buyer import Shops, new_email


class BuyOptions(BaseModel):
    card: str = APPROVE
    pay_posts: int = 1


@register
class HttpPurchase(Check[BuyOptions]):
    """Buys the e-book by form posts and records what the page said, like a purchase scenario."""

    kind = "test-http-purchase"
    Options = BuyOptions
    places_order = True

    async def run(self, ctx: CheckContext) -> CheckResult:
        email = new_email()
        async with httpx.AsyncClient(base_url=ctx.base_url) as client:
            await client.post("/cart/add", data={"product": "the-complete-course", "quantity": "1"})
            checkout = {"name": "Ada Auditor", "email": email, "address": "1 Loop Rd"}
            order = (await client.post("/checkout", data=checkout)).headers["location"].split("=")[1]
            card = {"order": order, "card": self.options.card, "expiry": "12/30", "cvc": "123"}
            answers = [await client.post("/pay", data=card) for _ in range(self.options.pay_posts)]
        result = "approved" if answers[0].is_redirect else "declined"
        outputs = {
            "scenario": "http-purchase",
            "customer": {"email": email, "name": "Ada Auditor", "first_name": "Ada", "password": "x"},
            "order_number": order,
            "order_total": "497.00",
            "currency": "USD",
            "payment_result": result,
            "payment_attempts": [{"card_last4": self.options.card[-4:], "result": result, "message": ""}],
        }
        findings = []
        if result == "declined":
            findings.append(Finding("scenario_failed", Severity.ERROR, ctx.base_url, "the card was declined"))
        return CheckResult(findings=findings, outputs=outputs)


def settings(tmp_path: Path, base_url: str, **buy: object) -> config.Settings:
    return config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "sites": {"demo": {"base_url": base_url, "allow_orders": True}},
            "checks": {
                "buy": {"kind": "test-http-purchase", **buy},
                "payment": {"kind": "payment", "needs": ["buy"], "settle_s": 0.2, "wait_s": 3},
            },
            "audits": {"checkout": {"checks": ["payment"]}},
        },
        environ={},
    )


async def test_the_runner_reports_a_double_charge_after_a_passing_purchase(
    shops: Shops, tmp_path: Path
) -> None:
    shop = shops("double-submit")
    store = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        run = await run_audit(
            settings(tmp_path, shop.base_url, pay_posts=2), "checkout", RunOptions(recorder=store)
        )
    finally:
        store.close()
    by_name = {c.name: c for c in run.checks}
    assert by_name["buy"].derived_status() == Status.PASS
    assert [f.kind for f in by_name["payment"].findings] == ["double_charge"]
    assert by_name["payment"].derived_status() == Status.FAIL and run.status == RunStatus.FAIL
    assert by_name["payment"].findings[0].check == "payment"


async def test_the_payment_check_runs_after_a_purchase_that_failed(shops: Shops, tmp_path: Path) -> None:
    shop = shops("declined-after-charge")
    run = await run_audit(settings(tmp_path, shop.base_url), "checkout", RunOptions(write_reports=False))
    by_name = {c.name: c for c in run.checks}
    assert by_name["buy"].derived_status() == Status.FAIL
    assert [f.kind for f in by_name["payment"].findings] == ["charged_but_declined"]


async def test_a_healthy_shop_passes_both(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    run = await run_audit(settings(tmp_path, shop.base_url), "checkout", RunOptions(write_reports=False))
    assert [(c.name, c.derived_status()) for c in run.checks] == [
        ("buy", Status.PASS),
        ("payment", Status.PASS),
    ]
    assert run.findings == []

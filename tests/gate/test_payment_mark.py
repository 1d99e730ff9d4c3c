"""Never a second purchase: `auditor gate` against a slow gateway (the charge is made, the answer is
held 20 s) with a purchase check cut at 10 s. The payment was marked in the database before the
pay click, so the gate's re-run never buys again, and the payment check reads the ledger anyway.

A real `auditor gate` process, real Chromium, the real demo shop. The scenario pays but does not
say `places_order=True` (which alone keeps the gate from re-running a check): the mark must.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.store import Store
from tests.gate.harness import free_port, gate, output, shop, write_config

CARELESS = """
from auditor import scenario


@scenario("careless-checkout", description="pays, but does not say it places an order")
async def careless_checkout(page, site, customer, card, step):
    step("Put the e-book in the cart")
    await page.goto(site.url("/products/the-complete-course"))
    await page.click("#add-to-cart")
    await page.wait_for_url("**/cart")
    step("Check out")
    await page.goto(site.url("/checkout"))
    await page.fill("#name", customer.name)
    await page.fill("#email", customer.email)
    await page.fill("#address", "1 Audit Lane")
    await page.click("#checkout-button")
    await page.wait_for_url("**/pay?order=*")
    step("Enter the card")
    await page.fill("#card", card.number)
    await page.fill("#expiry", card.expiry)
    await page.fill("#cvc", card.cvc)
    async with step("Pay", submits_payment=True):
        await page.click("#pay-button")
        await page.wait_for_url("**/thank-you/*")
"""


def config(smtp_port: int, scenario: str, paths: list[str]) -> dict[str, object]:
    return {
        "sites": {
            "demo": {
                "base_url": "http://127.0.0.1:9",
                "allow_orders": True,
                "mailbox": {"kind": "sink", "port": smtp_port},
            }
        },
        "checks": {
            "checkout": {"kind": "scenario", "scenario": scenario, "paths": paths, "timeout_s": 10},
            "payment": {
                "kind": "payment",
                "needs": ["checkout"],
                "settle_s": 1,
                "wait_s": 5,
                # The scenario never got to read the total, so nothing else says the ledger's unit.
                "ledger": {"kind": "http", "amount_unit": "minor"},
            },
        },
        "audits": {"gate": {"site": "demo", "checks": ["checkout", "payment"]}},
    }


def test_a_purchase_cut_by_its_time_limit_after_paying_is_never_bought_again_and_still_reconciled(
    tmp_path: Path,
) -> None:
    scenario, paths = "careless-checkout", ["s"]
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "careless.py").write_text(CARELESS, encoding="utf-8")
    smtp_port = free_port()
    write_config(tmp_path, config(smtp_port, scenario, paths))
    db = f"sqlite:///{tmp_path / 'gate.db'}"
    with shop("slow-gateway=20", smtp_port=smtp_port) as demo:
        result = gate(
            "gate", "--base-url", demo.base_url, "--report-dir", "out", "--database-url", db, cwd=tmp_path
        )
        charges = demo.app.state.shop.gateway.all_charges()
    assert len(charges) == 1, output(result)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    checks = {c["name"]: c for c in report["checks"]}
    checkout, payment = checks["checkout"], checks["payment"]
    assert checkout["status"] == "error", output(result)
    assert "time limit of 10 s" in checkout["message"] and "not run again" in checkout["message"]
    # On a loaded machine the first try may be cut before it reaches the pay step; then (and only
    # then) the gate re-runs it. Either way there was one payment step, and one charge.
    assert checkout["stats"]["payment_submitted"] == 1 and checkout["stats"]["payment_marks"] == 1
    # The payment check ran, read the one charge, and says what it found.
    assert payment["status"] == "pass", output(result)
    assert payment["stats"] == {"charges": 1, "succeeded_charges": 1}
    assert "1 succeeded charge(s): 497.00 USD" in payment["message"], payment["message"]
    assert "payment step 'Pay" in payment["message"]
    assert result.returncode == 3, output(result)  # a check that could not finish: not a pass
    store = Store.open(db)
    try:
        (mark,) = store.marks_for_run(report["run"]["id"])
    finally:
        store.close()
    assert mark.check == "checkout" and mark.email == charges[0].email and mark.step.startswith("Pay")

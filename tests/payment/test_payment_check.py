"""The payment check against the real demo shop and its real `/_test/ledger`."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx

from auditor.results import CheckResult, Severity, Status
from tests.demo.shopper import APPROVE, DECLINE, pay, place_order
from tests.payment.buyer import Outputs, Shops, context, kinds, new_email, purchase, run_payment


async def test_a_healthy_purchase_gives_no_finding(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    bought = purchase(shop)
    result = await run_payment(context(shop.base_url, tmp_path, checkout=bought.data))
    assert result.findings == [] and result.derived_status() == Status.PASS
    [charge] = result.outputs["charges"]["checkout"]
    assert charge["status"] == "succeeded" and charge["captured"] is True
    assert charge["amount_minor"] == 49700 and charge["order"] == bought.data["order_number"]
    assert result.stats == {"charges": 1, "succeeded_charges": 1}


async def test_it_reports_a_charge_behind_a_declined_page(shops: Shops, tmp_path: Path) -> None:
    shop = shops("declined-after-charge")
    bought = purchase(shop)
    assert bought.data["payment_result"] == "declined"
    result = await run_payment(context(shop.base_url, tmp_path, checkout=bought.data))
    assert kinds(result) == ["charged_but_declined"]
    [finding] = result.findings
    assert finding.severity == Severity.ERROR and result.derived_status() == Status.FAIL
    assert "Your card was declined" in finding.message and "497.00 USD" in finding.message
    assert finding.evidence["charges"][0]["status"] == "succeeded"
    assert finding.url == shop.base_url and finding.key == "checkout"


async def test_it_reports_a_double_charge_from_a_second_pay_post(shops: Shops, tmp_path: Path) -> None:
    shop = shops("double-submit")
    outputs = Outputs(new_email())
    with httpx.Client(base_url=shop.base_url) as client:
        order = place_order(client, "the-complete-course", outputs.email)
        first, second = pay(client, order), pay(client, order)
    assert first.is_redirect and second.is_redirect
    # A double click is one press as far as the scenario knows: one approved attempt.
    outputs.data.update(
        order_number=order,
        order_total="497.00",
        currency="USD",
        payment_result="approved",
        payment_attempts=[{"card_last4": "4242", "result": "approved", "message": "Thank you"}],
    )
    result = await run_payment(context(shop.base_url, tmp_path, checkout=outputs.data))
    assert kinds(result) == ["double_charge"]
    [finding] = result.findings
    assert "charged 2 times" in finding.message
    ids = [c["id"] for c in result.outputs["charges"]["checkout"]]
    assert len(ids) == 2 and all(i in finding.message for i in ids)
    assert f"order #{order}" in finding.message


async def test_a_decline_then_an_approval_is_one_charge_and_no_finding(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    bought = purchase(shop, DECLINE, APPROVE)
    assert [a["result"] for a in bought.data["payment_attempts"]] == ["declined", "approved"]
    result = await run_payment(context(shop.base_url, tmp_path, checkout=bought.data))
    assert result.findings == []
    statuses = sorted(c["status"] for c in result.outputs["charges"]["checkout"])
    assert statuses == ["failed", "succeeded"]


async def test_a_declined_card_without_a_charge_gives_no_finding(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    bought = purchase(shop, DECLINE)
    result = await run_payment(context(shop.base_url, tmp_path, checkout=bought.data))
    assert result.findings == []


async def test_an_approval_with_no_charge_is_reported_after_waiting(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    bought = purchase(shop)
    # The page said approved, but the ledger is asked about a customer who never paid.
    bought.data["customer"] = {**bought.data["customer"], "email": new_email()}
    started = time.monotonic()
    result = await run_payment(context(shop.base_url, tmp_path, checkout=bought.data), wait_s=0.8)
    assert time.monotonic() - started >= 0.8
    assert kinds(result) == ["approved_without_charge"]
    assert f"order #{bought.data['order_number']}" in result.findings[0].message


async def test_it_waits_for_a_charge_that_arrives_late(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    outputs = Outputs(new_email())
    with httpx.Client(base_url=shop.base_url) as client:
        order = place_order(client, "enamel-mug", outputs.email)
    outputs.data.update(
        order_number=order,
        payment_attempts=[{"card_last4": "4242", "result": "approved", "message": "Thank you"}],
    )

    def pay_later() -> None:
        time.sleep(0.7)
        with httpx.Client(base_url=shop.base_url) as client:
            pay(client, order)

    payer = threading.Thread(target=pay_later)
    payer.start()
    try:
        result = await run_payment(context(shop.base_url, tmp_path, checkout=outputs.data), wait_s=5)
    finally:
        payer.join()
    assert result.findings == []
    assert [c["status"] for c in result.outputs["charges"]["checkout"]] == ["succeeded"]


async def test_a_charge_that_differs_from_the_order_total_is_reported(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    bought = purchase(shop)
    bought.data["order_total"] = "1.00"
    ctx = context(shop.base_url, tmp_path, checkout=bought.data)
    result = await run_payment(ctx, ledger={"kind": "http", "amount_unit": "minor"})
    assert kinds(result) == ["charge_amount_mismatch"]
    assert "497.00 USD" in result.findings[0].message and "1.00 USD" in result.findings[0].message


async def test_a_bare_integer_that_matches_the_total_in_neither_unit_asks_for_amount_unit(
    shops: Shops, tmp_path: Path
) -> None:
    shop = shops()
    bought = purchase(shop)
    bought.data["order_total"] = "1.00"
    result = await run_payment(context(shop.base_url, tmp_path, checkout=bought.data))
    assert result.findings == [] and result.status == Status.ERROR
    assert result.message and "49700 (an integer)" in result.message
    assert 'amount_unit = "minor" if 49700 means 497.00 USD, or "major" if it means 49700.00 USD' in (
        result.message
    )


async def test_without_a_purchase_scenario_in_needs_it_is_an_error(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    result = await run_payment(context(shop.base_url, tmp_path, links={"pages": 3}))
    assert result.status == Status.ERROR and result.findings == []
    assert result.message and "needs a purchase scenario" in result.message and "`needs`" in result.message


async def test_a_scenario_option_naming_no_needed_check_is_an_error(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    bought = purchase(shop)
    result = await run_payment(context(shop.base_url, tmp_path, checkout=bought.data), scenario="pay")
    assert result.status == Status.ERROR
    assert result.message and "'pay'" in result.message and "checkout" in result.message


async def test_the_scenario_option_picks_one_purchase(shops: Shops, tmp_path: Path) -> None:
    healthy, broken = shops(), shops("declined-after-charge")
    good = purchase(healthy)
    ctx = context(healthy.base_url, tmp_path, good=good.data, other=Outputs(new_email()).data)
    result = await run_payment(ctx, scenario="good")
    assert result.findings == [] and list(result.outputs["charges"]) == ["good"]
    # Without the option every needed purchase is reconciled, each with findings of its own.
    bad = purchase(broken)
    ctx = context(broken.base_url, tmp_path, one=bad.data, two=purchase(broken).data)
    result = await run_payment(ctx)
    assert sorted((f.key, f.kind) for f in result.findings) == [
        ("one", "charged_but_declined"),
        ("two", "charged_but_declined"),
    ]


def assert_error(result: CheckResult, pattern: str) -> None:
    """The check could not read the ledger: `error`, with a message matching `pattern`."""
    assert result.derived_status() == Status.ERROR, result
    assert result.message and re.search(pattern, result.message), result.message


async def test_an_unreachable_ledger_is_an_infrastructure_error(tmp_path: Path) -> None:
    bought = Outputs(new_email())
    ctx = context("http://127.0.0.1:9", tmp_path, checkout=bought.data)
    result = await run_payment(ctx)
    assert_error(result, re.escape("could not reach the HTTP ledger at http://127.0.0.1:9/_test/ledger"))


async def test_a_ledger_that_answers_html_is_an_infrastructure_error(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    ctx = context(shop.base_url, tmp_path, checkout=Outputs(new_email()).data)
    result = await run_payment(ctx, ledger={"kind": "http", "url": "{base_url}/?email={email}"})
    assert_error(result, "did not answer JSON")


async def test_a_ledger_that_answers_404_is_an_infrastructure_error(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    ctx = context(shop.base_url, tmp_path, checkout=Outputs(new_email()).data)
    result = await run_payment(ctx, ledger={"kind": "http", "url": "{base_url}/_test/nothing?email={email}"})
    assert_error(result, "answered 404")


async def test_a_wrong_items_field_says_which_option_to_fix(shops: Shops, tmp_path: Path) -> None:
    shop = shops()
    ctx = context(shop.base_url, tmp_path, checkout=Outputs(new_email()).data)
    assert_error(await run_payment(ctx, ledger={"kind": "http", "items_field": "data.items"}), "items_field")

"""The example scenarios in `scenarios/` against the real demo shop: they pass on a healthy shop and
fail, at the right step, under the faults a customer would hit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from auditor.demo import DemoShop
from auditor.results import Status
from auditor.scenarios import Customer, new_customer

from .conftest import RunScenario

pytestmark = pytest.mark.asyncio(loop_scope="module")

StartShop = Callable[..., DemoShop]


def charges(shop: DemoShop, email: str) -> list[dict[str, object]]:
    data = httpx.get(shop.base_url + "/_test/ledger", params={"email": email}).json()
    result: list[dict[str, object]] = data["charges"]
    return result


async def test_a_guest_buys_the_e_book_and_can_then_log_in(run: RunScenario, healthy_shop: DemoShop) -> None:
    bought = await run("guest-checkout", healthy_shop.base_url)
    assert (bought.status, bought.findings, bought.message) == (Status.PASS, [], None)
    out = bought.outputs
    assert out["payment_result"] == "approved" and out["account_created"] is True
    assert out["payment_attempts"] == [
        {"card_last4": "4242", "result": "approved", "message": "Thank you, Ada!"}
    ]
    assert (out["order_total"], out["currency"]) == ("497.00", "USD")
    assert out["thank_you_url"] == f"{healthy_shop.base_url}/thank-you/{out['order_number']}"
    assert out["download_links"] and all(
        u.startswith(healthy_shop.base_url + "/download/") for u in out["download_links"]
    )
    assert "payment_submitted_at" in out
    (charge,) = charges(healthy_shop, out["customer"]["email"])
    assert charge["status"] == "succeeded" and charge["amount"] == 49700

    # The login check of a later round runs demo-login with the credentials the purchase created.
    customer = Customer(**{**out["customer"], "id": "t1-guest-checkout"})
    login = await run("demo-login", healthy_shop.base_url, customer=customer)
    assert (login.status, login.findings) == (Status.PASS, [])
    assert login.outputs["account_orders"] == [f"Order #{out['order_number']}"]


async def test_the_contact_form_and_newsletter_sign_up_pass(run: RunScenario, healthy_shop: DemoShop) -> None:
    contact = await run("contact-form", healthy_shop.base_url)
    assert (contact.status, contact.findings) == (Status.PASS, [])
    assert contact.outputs["contact_message"] == "Thanks, Ada! We'll reply within 1 business day."
    newsletter = await run("newsletter-signup", healthy_shop.base_url)
    assert (newsletter.status, newsletter.findings) == (Status.PASS, [])
    assert newsletter.outputs["newsletter_message"] == "Almost done: check your inbox to confirm."


async def test_a_declined_card_then_the_good_one_records_both_attempts(
    run: RunScenario, healthy_shop: DemoShop
) -> None:
    outcome = await run("decline-then-approve", healthy_shop.base_url)
    assert (outcome.status, outcome.findings) == (Status.PASS, [])
    attempts = outcome.outputs["payment_attempts"]
    assert [(a["card_last4"], a["result"]) for a in attempts] == [("0002", "declined"), ("4242", "approved")]
    assert attempts[0]["message"] == "Your card was declined. No payment was taken."
    assert [c["status"] for c in charges(healthy_shop, outcome.outputs["customer"]["email"])] == [
        "failed",
        "succeeded",
    ]


@pytest.mark.parametrize(("fault", "charged"), [((), 1), (("double-submit",), 2)])
async def test_a_double_click_on_pay_records_one_attempt_and_charges_twice_only_a_broken_shop(
    run: RunScenario, start_shop: StartShop, fault: tuple[str, ...], charged: int
) -> None:
    shop = start_shop(*fault)
    # Several purchases in a row: the second click must land in time every time, not most times.
    for n in range(3):
        customer = new_customer("audit+{id}@example.com", "Ada Auditor", run_id=f"t{n}", scenario="dc")
        outcome = await run("double-click-pay", shop.base_url, customer=customer)
        assert (outcome.status, outcome.findings) == (Status.PASS, [])
        assert [a["result"] for a in outcome.outputs["payment_attempts"]] == ["approved"]
        # What the payment check will reconcile: a second charge only when the shop is broken.
        assert len(charges(shop, outcome.outputs["customer"]["email"])) == charged
        assert outcome.outputs["thank_you_url"].startswith(shop.base_url + "/thank-you/")


async def test_a_double_click_on_a_shop_whose_pay_step_answers_500_fails_at_once_naming_it(
    run: RunScenario, start_shop: StartShop
) -> None:
    shop = start_shop("checkout-error")
    outcome = await run("double-click-pay", shop.base_url, step_timeout_s=20)
    assert outcome.failed_step == "Click the pay button twice"
    assert outcome.message == (
        "double-click-pay failed at step 'Click the pay button twice': "
        f"POST /pay answered HTTP 500 ({shop.base_url}/pay)"
    )
    assert "step time limit" not in (outcome.error or "")


async def test_a_500_on_the_pay_step_fails_at_the_pay_step(
    run: RunScenario, start_shop: StartShop, tmp_path: Path
) -> None:
    shop = start_shop("checkout-error")
    outcome = await run("guest-checkout", shop.base_url)
    assert outcome.status == Status.FAIL
    assert outcome.failed_step == "Pay with the test card"
    assert outcome.message == (
        "guest-checkout failed at step 'Pay with the test card': "
        f"POST /pay answered HTTP 500 ({shop.base_url}/pay)"
    )
    assert outcome.payment_submitted and "account_created" not in outcome.outputs  # set once paid
    assert outcome.outputs["failed_step"] == "Pay with the test card"
    assert {a.name for a in outcome.artifacts} == {
        "screenshot.png",
        "page.html",
        "console.json",
        "requests.json",
        "trace.zip",
    }
    assert all(
        a.path.parent == tmp_path / "artifacts" and a.path.stat().st_size > 0 for a in outcome.artifacts
    )


async def test_a_dead_link_on_the_thank_you_page_fails_at_the_links_step_naming_it(
    run: RunScenario, start_shop: StartShop
) -> None:
    shop = start_shop("thank-you-dead-link")
    outcome = await run("guest-checkout", shop.base_url)
    order = outcome.outputs["order_number"]
    assert outcome.failed_step == "Check the thank-you page's links"
    assert outcome.message == (
        "guest-checkout failed at step 'Check the thank-you page's links': the link 'Track your order' "
        f"({shop.base_url}/orders/{order}/track) answers HTTP 404"
    )
    # What was read before the failing step is kept for the checks that need it.
    assert outcome.outputs["payment_result"] == "approved" and outcome.outputs["download_links"]


async def test_a_javascript_error_on_checkout_fails_at_the_checkout_step(
    run: RunScenario, start_shop: StartShop
) -> None:
    shop = start_shop("js-error")
    outcome = await run("guest-checkout", shop.base_url)
    assert outcome.failed_step == "Check out as a guest, creating an account"
    assert outcome.message is not None
    assert outcome.message.endswith(
        f"uncaught error on the page {shop.base_url}/checkout: "
        "TypeError: Cannot read properties of undefined (reading 'track')"
    )
    assert not outcome.payment_submitted

"""A customer's card is declined, then they pay with another card: each attempt is recorded.

For the payment check: after a decline and an approval there must be exactly one charge, and
the declined attempt must not have charged the card. `payment_attempts` lists what the page said
after each press of the pay button, in order.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Page

from auditor import scenario
from auditor.scenarios import Card, Customer, Site, Steps


@scenario(
    "decline-then-approve",
    tags=["checkout", "payment"],
    places_order=True,
    description="A declined card, then the test card that approves.",
)
async def decline_then_approve(
    page: Page, site: Site, customer: Customer, card: Card, outputs: dict, step: Steps
) -> None:
    step("Put the e-book in the cart")
    await page.goto(site.url("/products/the-complete-course"))
    await page.click("#add-to-cart")
    await page.wait_for_url("**/cart")

    step("Check out as a guest")
    await page.goto(site.url("/checkout"))
    await page.fill("#name", customer.name)
    await page.fill("#email", customer.email)
    await page.fill("#address", "1 Audit Lane, Testville")
    await page.click("#checkout-button")
    await page.wait_for_url("**/pay?order=*")
    total, _, currency = (await page.locator(".summary .total span").last.inner_text()).strip().partition(" ")
    outputs["order_total"], outputs["currency"] = total, currency
    outputs["payment_attempts"] = []

    async with step("Pay with a card that is declined", submits_payment=True):
        result = await pay(page, card, card.declined, outputs)
        if result == "approved":
            raise AssertionError("a card that must be declined was accepted")

    async with step("Pay again with the test card that approves", submits_payment=True):
        result = await pay(page, card, card.number, outputs)
        if result != "approved":
            raise AssertionError(
                f"the test card was not accepted after a decline: {outputs['payment_message']}"
            )

    step("Read the thank-you page")
    outputs["thank_you_url"] = page.url
    outputs["order_number"] = (await page.locator(".order-number").inner_text()).strip().rpartition("#")[2]
    total, _, currency = (await page.locator(".order-total").inner_text()).strip().partition(" ")
    outputs["order_total"], outputs["currency"] = total, currency


async def pay(page: Page, card: Card, number: str, outputs: dict) -> str:
    """Submit the card form once; record and return what the page said ("approved" / "declined")."""
    await page.fill("#card", number)
    await page.fill("#expiry", card.expiry)
    await page.fill("#cvc", card.cvc)
    async with page.expect_navigation() as navigation:
        await page.click("#pay-button")
    response = await navigation.value
    if response is not None and response.status >= 400:
        request = f"{response.request.method} {urlsplit(response.url).path}"
        raise AssertionError(f"{request} answered HTTP {response.status} ({response.url})")
    if "/thank-you/" in page.url:
        result, message = "approved", (await page.locator("h1").inner_text()).strip()
    else:
        alert = page.locator("p.alert[role=alert]")
        result = "declined"
        message = (await alert.inner_text()).strip() if await alert.count() else "(no message on the page)"
    outputs["payment_attempts"].append(
        {"card_last4": card.last4(number), "result": result, "message": message}
    )
    outputs["payment_result"], outputs["payment_message"] = result, message
    return result

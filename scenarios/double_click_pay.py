"""An impatient customer clicks the pay button twice: the shop must charge the card once.

The second click lands while the first payment is on its way to the shop. A healthy shop ignores
it (the button is disabled, the server is idempotent); the payment check counts the charges.
One pay-button submission is recorded in `payment_attempts`: the customer meant to pay once.
"""

from __future__ import annotations

from playwright.async_api import Page

from auditor import scenario
from auditor.scenarios import Card, Customer, Site, Steps


@scenario(
    "double-click-pay",
    tags=["checkout", "payment"],
    places_order=True,
    description="The pay button clicked twice in a row.",
)
async def double_click_pay(
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

    async with step("Click the pay button twice", submits_payment=True):
        await page.fill("#card", card.number)
        await page.fill("#expiry", card.expiry)
        await page.fill("#cvc", card.cvc)
        button = await page.locator("#pay-button").bounding_box()
        if button is None:
            raise AssertionError("the pay button is not visible")
        x, y = button["x"] + button["width"] / 2, button["y"] + button["height"] / 2
        # The second click comes once the first payment has left the browser, as a person's would.
        async with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/pay")):
            await page.mouse.click(x, y)
        await page.mouse.click(x, y)
        # Either the thank-you page or the pay page again with a message.
        await page.locator(".order-number, p.alert[role=alert]").first.wait_for()
        approved = "/thank-you/" in page.url
        said = page.locator("h1" if approved else "p.alert[role=alert]").first
        message = (await said.inner_text()).strip()
        result = "approved" if approved else "declined"
        outputs["payment_attempts"] = [
            {"card_last4": card.last4(card.number), "result": result, "message": message}
        ]
        outputs["payment_result"], outputs["payment_message"] = result, message
        if not approved:
            raise AssertionError(f"the test card was not accepted: {message}")

    step("Read the thank-you page")
    outputs["thank_you_url"] = page.url
    outputs["order_number"] = (await page.locator(".order-number").inner_text()).strip().rpartition("#")[2]
    total, _, currency = (await page.locator(".order-total").inner_text()).strip().partition(" ")
    outputs["order_total"], outputs["currency"] = total, currency

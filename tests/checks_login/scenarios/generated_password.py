"""A guest buys the e-book and asks for an account without choosing a password: the shop generates
one and sends it in the account email (what `credentials = "email"` reads)."""

from __future__ import annotations

from urllib.parse import urljoin

from playwright.async_api import Page

from auditor import scenario
from auditor.scenarios import Customer, Site, Steps


@scenario("generated-password", places_order=True, description="Buy the e-book, account without a password.")
async def generated_password(page: Page, site: Site, customer: Customer, outputs: dict, step: Steps) -> None:
    step("Add the e-book to the cart")
    await page.goto(site.url("/products/the-complete-course"))
    await page.click("#add-to-cart")
    await page.wait_for_url("**/cart")

    step("Check out, creating an account with no password")
    await page.goto(site.url("/checkout"))
    await page.fill("#name", customer.name)
    await page.fill("#email", customer.email)
    await page.fill("#address", "1 Audit Lane, Testville")
    await page.check("#create-account")
    await page.click("#checkout-button")
    await page.wait_for_url("**/pay?order=*")

    async with step("Pay with the test card", submits_payment=True):
        await page.fill("#card", "4242 4242 4242 4242")
        await page.fill("#expiry", "12/30")
        await page.fill("#cvc", "123")
        await page.click("#pay-button")
        await page.wait_for_url("**/thank-you/*")
    outputs["payment_result"] = "approved"
    outputs["account_created"] = True
    outputs["order_number"] = (await page.locator(".order-number").inner_text()).rpartition("#")[2].strip()
    hrefs = await page.locator("a.download").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    outputs["download_links"] = [urljoin(page.url, h) for h in hrefs]

"""A customer writes to the shop through the contact form and is thanked by name.

The auto-response email it triggers is checked by an email check that `needs` this scenario;
`contact_sent_at` tells it when the message was sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.async_api import Page

from auditor import scenario
from auditor.scenarios import Customer, Site, Steps


@scenario("contact-form", tags=["contact"], description="A customer sends a message with the contact form.")
async def contact_form(page: Page, site: Site, customer: Customer, outputs: dict, step: Steps) -> None:
    step("Open the contact page")
    await page.goto(site.url("/contact"))

    step("Fill in and send the contact form")
    await page.fill("#contact-name", customer.name)
    await page.fill("#contact-email", customer.email)
    await page.fill("#contact-message", "Hello! Do you ship to Norway? (An automated check by auditor.)")
    outputs["contact_sent_at"] = datetime.now(UTC).isoformat()
    await page.click("#contact-submit")

    step("Read the thank-you message")
    thanks = page.locator("p.contact-thanks")
    await thanks.wait_for()
    text = (await thanks.inner_text()).strip()
    if customer.first_name not in text:
        raise AssertionError(f"the thank-you message does not greet {customer.first_name}: {text!r}")
    outputs["contact_message"] = text

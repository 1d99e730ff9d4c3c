"""A visitor signs up for the newsletter and is asked to confirm (double opt-in).

The confirmation and welcome emails are checked by an email check that `needs` this scenario.
"""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.async_api import Page

from auditor import scenario
from auditor.scenarios import Customer, Site, Steps


@scenario("newsletter-signup", tags=["newsletter"], description="A visitor signs up for the newsletter.")
async def newsletter_signup(page: Page, site: Site, customer: Customer, outputs: dict, step: Steps) -> None:
    step("Open the newsletter page")
    await page.goto(site.url("/newsletter"))

    step("Sign up with an email address")
    form = page.locator("form#newsletter-form").first
    await form.locator("#newsletter-email").fill(customer.email)
    outputs["newsletter_requested_at"] = datetime.now(UTC).isoformat()
    await form.locator("#newsletter-submit").click()

    step("Read the 'check your inbox' message")
    pending = page.locator("p.newsletter-pending")
    await pending.wait_for()
    outputs["newsletter_message"] = (await pending.inner_text()).strip()
    outputs["newsletter_email"] = customer.email

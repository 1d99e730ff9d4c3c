"""A customer logs in with the email and password of their account and sees "My account".

The customer's account must exist: a login check runs this scenario with the credentials a
purchase scenario (guest-checkout) created, in a fresh browser context.
"""

from __future__ import annotations

from playwright.async_api import Page

from auditor import scenario
from auditor.scenarios import Customer, Site, Steps


@scenario("demo-login", tags=["login"], description="A customer logs in and sees their account.")
async def demo_login(page: Page, site: Site, customer: Customer, outputs: dict, step: Steps) -> None:
    step("Open the login page")
    await page.goto(site.url("/login"))

    step("Log in with the customer's email and password")
    await page.fill("#login-email", customer.email)
    await page.fill("#login-password", customer.password)
    await page.click("#login-button")
    await page.wait_for_load_state()

    step("See My account")
    alert = page.locator("p.alert[role=alert]")
    if await alert.count():
        raise AssertionError(f"logging in was refused: {(await alert.inner_text()).strip()}")
    heading = (await page.locator("h1").inner_text()).strip()
    if heading != "My account":
        raise AssertionError(f"after logging in the page says {heading!r}, not 'My account' ({page.url})")
    outputs["account_url"] = page.url
    outputs["account_orders"] = [
        (await o.inner_text()).strip() for o in await page.locator("li.account-order .order-number").all()
    ]

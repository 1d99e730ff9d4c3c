"""The demo shop in a real Chromium: a checkout by clicks, the pay button's double click, logging in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Error, Page, Route, async_playwright

from auditor.browser.locate import LAUNCH_ARGS, find_chromium
from tests.demo.shopper import APPROVE, StartShop, unique_email

# One Chromium for the whole module: launching one takes longer than most tests here.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=find_chromium().path, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a fresh browser context (its own cookies), closed after the test."""
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def fill_checkout(page: Page, base_url: str, email: str) -> None:
    """Open the mug's page, add it to the cart and fill checkout up to the card form."""
    await page.goto(base_url + "/")
    await page.click("text=Enamel Camp Mug")
    await page.click("button:has-text('Add to cart')")
    await page.wait_for_url("**/cart")
    await page.click("a:has-text('Checkout')")
    await page.fill("#name", "Ada Lovelace")
    await page.fill("#email", email)
    await page.fill("#address", "1 Loop Rd, Portland")
    await page.click("button:has-text('Continue to payment')")
    await page.wait_for_url("**/pay?order=*")
    await page.fill("#card", APPROVE)
    await page.fill("#expiry", "12/30")
    await page.fill("#cvc", "123")


async def test_a_guest_checks_out_by_clicks(start_shop: StartShop, page: Page) -> None:
    shop = start_shop()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await fill_checkout(page, shop.base_url, "clicks@example.com")
    await page.click("#pay-button")
    await page.wait_for_url("**/thank-you/*")
    assert await page.locator(".order-number").inner_text() == f"Order #{page.url.rsplit('/', 1)[1]}"
    assert "18.00 USD" in await page.locator(".order-total").inner_text()
    await page.goto(shop.base_url + "/")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("[data-cart-count]").is_hidden()  # the cart was emptied by paying
    assert errors == []


async def charges_for(base_url: str, email: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/_test/ledger", params={"email": email})
        return len(response.json()["charges"])


@pytest.mark.parametrize(("faults", "charges"), [((), 1), (("double-submit",), 2)])
async def test_a_double_click_on_pay_charges_twice_only_under_double_submit(
    start_shop: StartShop, page: Page, faults: tuple[str, ...], charges: int
) -> None:
    shop = start_shop(*faults)
    release = asyncio.Event()

    async def answer_when_released(route: Route) -> None:
        # Like a slow payment provider: the shop gets the POST at once, the browser its answer
        # only when the test says so, which leaves the customer time to click again.
        try:
            response = await route.fetch(max_redirects=0)
            await release.wait()
            await route.fulfill(response=response)
        except Error:
            pass  # the browser abandoned this submission for the next one

    await page.route("**/pay", answer_when_released)
    await fill_checkout(page, shop.base_url, "dbl@example.com")
    box = await page.locator("#pay-button").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.click(x, y)
    for _ in range(100):
        if await charges_for(shop.base_url, "dbl@example.com"):
            break
        await asyncio.sleep(0.05)
    # An impatient customer clicks again while the payment is still processing.
    await page.mouse.click(x, y)
    await page.wait_for_timeout(300)
    release.set()
    await page.wait_for_url("**/thank-you/*")
    assert await charges_for(shop.base_url, "dbl@example.com") == charges


async def test_js_error_throws_on_loading_the_checkout_page(start_shop: StartShop, page: Page) -> None:
    shop = start_shop("js-error")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(shop.base_url + "/")
    await page.wait_for_load_state("networkidle")
    assert errors == []
    await page.goto(shop.base_url + "/checkout")
    await page.wait_for_load_state("networkidle")
    assert len(errors) == 1 and "track" in errors[0]


async def test_a_customer_creates_an_account_at_checkout_and_logs_in_by_clicks(
    start_shop: StartShop, page: Page
) -> None:
    shop = start_shop()
    email, password = unique_email("browser"), "a browser password"
    await page.goto(shop.base_url + "/products/the-complete-course")
    await page.click("#add-to-cart")
    await page.goto(shop.base_url + "/checkout")
    await page.fill("#name", "Ada Lovelace")
    await page.fill("#email", email)
    await page.fill("#address", "1 Loop Rd, Portland")
    await page.check("#create-account")
    await page.fill("#password", password)
    await page.click("#checkout-button")
    await page.fill("#card", APPROVE)
    await page.fill("#expiry", "12/30")
    await page.fill("#cvc", "123")
    await page.click("#pay-button")
    await page.wait_for_url("**/thank-you/*")
    order = await page.locator(".order-number").inner_text()
    await page.click("header >> text=Log in")
    await page.fill("#login-email", email)
    await page.fill("#login-password", password)
    await page.click("#login-button")
    await page.wait_for_url("**/account")
    assert await page.locator("h1").inner_text() == "My account"
    assert await page.locator("li.account-order .order-number").inner_text() == order
    assert await page.locator("li.account-order a.download").count() == 1
    await page.click("#logout-button")
    await page.wait_for_url(shop.base_url + "/")
    assert await page.locator("header >> text=Log in").is_visible()

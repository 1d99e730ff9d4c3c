"""An impatient customer clicks the pay button twice: the shop must charge the card once.

The second click lands while the first payment is on its way to the shop. A healthy shop ignores
it (the button is disabled, the server is idempotent); the payment check counts the charges.
One pay-button submission is recorded in `payment_attempts`: the customer meant to pay once.

`click_twice` below makes that second click land in time on any machine, however fast the shop
and however loaded the computer: it is the part to copy for a double-click scenario of your own.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from playwright.async_api import APIResponse, Error, Page, Route

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
        answer = await click_twice(page, site, "#pay-button")
        if answer.status >= 500:
            raise AssertionError(
                f"POST {urlsplit(answer.url).path} answered HTTP {answer.status} ({answer.url})"
            )
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


# Installed in the page before the first click. Counts the form submissions the page lets through
# (after the shop's own handlers, which may cancel one), and says how many when Shift is pressed:
# by a request, because while a navigation is pending Chromium answers no script from outside.
_COUNT_SUBMISSIONS = """done => {
  let submitted = 0;
  document.addEventListener("submit", event => { if (!event.defaultPrevented) submitted += 1; });
  document.addEventListener("keydown", event => {
    if (event.key === "Shift") fetch(done + "?submitted=" + submitted, { method: "POST" });
  });
}"""
_DONE = "/__auditor__/clicks-done"
_FULFIL_S = 30.0


async def _let_go(route: Route, error: BaseException) -> None:
    """End a held route whose fulfil failed. Playwright's own handler waits until the route is
    fulfilled, aborted or passed on; left waiting, its task is destroyed with the page ("Task was
    destroyed but it is pending!" on stderr). When the browser side already settled the request
    (the page navigated on, a second submission replaced it), passing it on sends nothing and
    only ends that wait; otherwise it is aborted: passing on a payment would send it once more."""
    with contextlib.suppress(Error):
        if "already handled" in str(error):
            await route.fallback()
        else:
            await route.abort()


async def click_twice(page: Page, site: Site, selector: str) -> APIResponse:
    """Click the submit button `selector` twice, the second time while the shop's answer to the first
    submission is still on its way; return that answer (the page then shows what followed).

    Two clicks at once (`page.dblclick`) do not do it: Chromium merges two submissions of a form in
    one task into one request. Two clicks one after the other race the navigation: on a fast shop
    the next page can be there before the second click. So the shop's answer to the first request
    is held back (the request reaches the shop; its answer waits in a route) until the second click
    was handled and, when the page submitted the form again, until that second request has left
    the browser. No timing: each wait is for something that happens.
    """
    loop = asyncio.get_running_loop()
    first: asyncio.Future[APIResponse] = loop.create_future()
    submitted: asyncio.Future[int] = loop.create_future()
    second_sent, release = asyncio.Event(), asyncio.Event()
    button = await page.locator(selector).element_handle()
    action = await button.evaluate("b => b.form.action")

    async def hold(route: Route) -> None:
        url = route.request.url
        if url.startswith(site.url(_DONE)):
            # Answered before the count is handed on: once it is, the first answer is released
            # and the page navigates away, and a fulfil of a request the navigation cancelled
            # never completes (its task is left pending and destroyed with the page).
            await route.fulfill(status=204)
            submitted.set_result(int(url.rpartition("=")[2]))
        elif route.request.method != "POST":
            await route.fallback()
        elif first.done():
            second_sent.set()
            await route.fallback()
        else:
            try:
                # Sent by Playwright, not the browser: the site's access headers are added here.
                answer = await route.fetch(
                    max_redirects=0, headers={**route.request.headers, **site.headers_for(url)}
                )
            except Error as e:
                first.set_exception(e)
                await _let_go(route, e)
                return
            first.set_result(answer)
            await release.wait()
            # When the second submission replaced this navigation, its answer has no page to go to.
            # Bounded for the same reason: the loop holds the timer, so nothing is left pending.
            try:
                await asyncio.wait_for(route.fulfill(response=answer), _FULFIL_S)
            except (Error, TimeoutError) as e:
                await _let_go(route, e)

    await page.evaluate(_COUNT_SUBMISSIONS, site.url(_DONE))

    def held(url: str) -> bool:
        return url == action or url.startswith(site.url(_DONE))

    await page.route(held, hold)
    try:
        box = await button.bounding_box()
        if box is None:
            raise AssertionError(f"the button {selector} is not visible")
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await page.mouse.click(x, y)
        answer = await first  # the shop has the first payment (and has answered it)
        await page.mouse.click(x, y)
        await page.keyboard.press("Shift")
        if await submitted > 1:
            await second_sent.wait()
    finally:
        release.set()
    await page.unroute(held, hold)
    return answer

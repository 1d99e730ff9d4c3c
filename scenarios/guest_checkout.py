"""A guest buys the e-book with the test card, creates an account, and gets working links.

This is the journey that earns the shop its money; it is written for the bundled demo shop
(`auditor demo-shop`) and is the example to copy for your own shop: change the URLs and
selectors, keep the steps. It places a real (test) order, so it only runs on a site with
`allow_orders = true`.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from playwright.async_api import BrowserContext, Page

from auditor import scenario
from auditor.scenarios import Card, Customer, Site, Steps

PRODUCT = "/products/the-complete-course"


@scenario(
    "guest-checkout",
    tags=["checkout"],
    places_order=True,
    description="A guest buys the e-book with the test card and creates an account.",
)
async def guest_checkout(
    page: Page,
    context: BrowserContext,
    site: Site,
    customer: Customer,
    card: Card,
    outputs: dict,
    step: Steps,
) -> None:
    # What goes into `outputs` is kept even when a later step fails: later checks (payment, email,
    # login) read it. Returning a dict instead merges it into the outputs at the end.
    step("Open the e-book's product page")
    response = await page.goto(site.url(PRODUCT))
    if response is None or response.status >= 400:
        raise AssertionError(
            f"the product page {PRODUCT} answered HTTP {response.status if response else '?'}"
        )

    step("Add the e-book to the cart")
    await page.click("#add-to-cart")
    await page.wait_for_url("**/cart")

    step("Check out as a guest, creating an account")
    await page.goto(site.url("/checkout"))
    await page.fill("#name", customer.name)
    await page.fill("#email", customer.email)
    await page.fill("#address", "1 Audit Lane, Testville")
    await page.check("#create-account")
    await page.fill("#password", customer.password)
    await page.click("#checkout-button")
    await page.wait_for_url("**/pay?order=*")
    # What the customer is asked to pay: the payment check compares the charge with it.
    total, _, currency = (await page.locator(".summary .total span").last.inner_text()).strip().partition(" ")
    outputs["order_total"], outputs["currency"] = total, currency

    # `submits_payment=True`: before the step starts, auditor records in its database that this run
    # may have paid. From then on the check is never run again, whatever happens to it (a time
    # limit, a crash), and the payment check reads the ledger for it. Type the card from the `card`
    # fixture, so auditor knows the number and keeps it out of traces and saved pages.
    async with step("Pay with the test card", submits_payment=True):
        await page.fill("#card", card.number)
        await page.fill("#expiry", card.expiry)
        await page.fill("#cvc", card.cvc)
        async with page.expect_navigation() as navigation:
            await page.click("#pay-button")
        response = await navigation.value
        if response is not None and response.status >= 400:
            request = f"{response.request.method} {urlsplit(response.url).path}"
            raise AssertionError(f"{request} answered HTTP {response.status} ({response.url})")
        alert = page.locator("p.alert[role=alert]")
        if "/thank-you/" not in page.url:
            said = await alert.inner_text() if await alert.count() else "no thank-you page, no message"
            outputs["payment_attempts"] = [
                {"card_last4": card.last4(card.number), "result": "declined", "message": said}
            ]
            outputs["payment_result"], outputs["payment_message"] = "declined", said
            raise AssertionError(f"the test card was not accepted: {said}")

    step("Read the thank-you page")
    said = (await page.locator("h1").inner_text()).strip()
    outputs["payment_attempts"] = [
        {"card_last4": card.last4(card.number), "result": "approved", "message": said}
    ]
    outputs["payment_result"], outputs["payment_message"] = "approved", said
    outputs["account_created"] = True  # the shop creates the account once the order is paid
    order_number = (await page.locator(".order-number").inner_text()).strip()  # "Order #A1B2C3"
    outputs["order_number"] = order_number.rpartition("#")[2]
    total, _, currency = (await page.locator(".order-total").inner_text()).strip().partition(" ")
    outputs["order_total"], outputs["currency"] = total, currency
    outputs["thank_you_url"] = page.url
    downloads = [
        urljoin(page.url, href)
        for href in await page.locator("a.download").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    outputs["download_links"] = downloads
    if not downloads:
        raise AssertionError("the thank-you page has no download link for the e-book")

    step("Check the thank-you page's links")
    await check_links(page, context, site)


async def check_links(page: Page, context: BrowserContext, site: Site) -> None:
    """Fetch every link in the page's content that stays on the shop; fail on the first broken one.

    Only the `main` part of the page: the header and footer are the same on every page, and the
    crawl check covers them (a broken footer link should be one finding, not one per check). The
    download links are left to the delivery check, which knows they must answer with a file.
    `context.request` shares the page's cookies, so a page that needs the session works; the
    site's configured headers (a staging site's access key, say) are passed with
    `site.headers_for(url)`, because Playwright's API requests do not go through the browser.
    """
    origin = urlsplit(page.url).netloc
    links = await page.locator("main a[href]:not(.download)").evaluate_all(
        "links => links.map(a => [a.href, (a.innerText || a.title || '').trim()])"
    )
    seen: set[str] = set()
    for href, text in links:
        url = href.split("#")[0]
        if urlsplit(url).netloc != origin or url in seen:
            continue
        seen.add(url)
        response = await context.request.get(url, headers=site.headers_for(url))
        if response.status >= 400:
            raise AssertionError(f"the link '{text}' ({url}) answers HTTP {response.status}")

"""Applying a coupon in a cart, in a browser: the campaign check's step, and a helper for scenarios.

    from auditor.campaign.coupon import apply_coupon
    result = await apply_coupon(page, "SPRING20")     # page: on the cart
    assert result.accepted, result.describe()

It reads the cart's total, types the code into the coupon field, submits its form, waits for the
page to settle and reads the total again, with any message the shop showed (an "expired" alert).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_AMOUNT = re.compile(r"\d[\d,.' \u00a0]*\d|\d")
_MESSAGES = (
    "[role=alert], .error, .errors, .alert, .notice, .message, .woocommerce-error, .woocommerce-message"
)
DEFAULT_FIELD = (
    "input[name*='coupon' i], input[id*='coupon' i], input[name*='promo' i], input[name*='voucher' i], "
    "input[name*='discount' i], input[name='code']"
)
DEFAULT_TOTAL = "[data-cart-total], .cart-total, .order-total .amount, .order-total, .total .amount, .total"


def parse_amount(text: str) -> Decimal | None:
    """The last money-like number in `text` ("Total 1,497.00 USD" -> 1497.00), or None."""
    found = _AMOUNT.findall(text or "")
    if not found:
        return None
    raw = found[-1].strip()
    cents = re.search(r"[.,](\d{1,2})$", raw)
    whole = re.sub(r"\D", "", raw[: cents.start()] if cents else raw)
    try:
        return Decimal(f"{whole or '0'}.{cents.group(1) if cents else '0'}").quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def expected_after(before: Decimal, discount: str) -> Decimal:
    """The total `discount` ("20%" or "5.00") should leave of `before`."""
    d = discount.strip()
    if d.endswith("%"):
        pct = parse_amount(d[:-1]) or Decimal(0)
        return (before * (Decimal(100) - pct) / Decimal(100)).quantize(Decimal("0.01"))
    return (before - (parse_amount(d) or Decimal(0))).quantize(Decimal("0.01"))


@dataclass
class CouponResult:
    code: str
    before: Decimal | None
    after: Decimal | None
    message: str = ""
    problem: str = ""  # the code could not be tried at all (no field, no total)

    @property
    def accepted(self) -> bool:
        return (
            not self.problem
            and self.before is not None
            and self.after is not None
            and self.after < self.before
        )

    def describe(self) -> str:
        if self.problem:
            return self.problem
        said = f"; the shop said {self.message!r}" if self.message else ""
        return f"the total went from {self.before} to {self.after}{said}"


async def read_total(page: Any, selector: str = DEFAULT_TOTAL) -> Decimal | None:
    """The amount shown by the first visible element `selector` matches, or None."""
    loc = page.locator(selector)
    for i in range(min(await loc.count(), 10)):
        el = loc.nth(i)
        if await el.is_visible():
            amount = parse_amount(await el.inner_text())
            if amount is not None:
                return amount
    return None


async def apply_coupon(
    page: Any,
    code: str,
    *,
    field: str = DEFAULT_FIELD,
    submit: str | None = None,
    total: str = DEFAULT_TOTAL,
    timeout_s: float = 15.0,
) -> CouponResult:
    """Enter `code` on the cart page `page` is on and say what it did to the total."""
    before = await read_total(page, total)
    result = CouponResult(code, before, None)
    if before is None:
        result.problem = f"no cart total on {page.url} (looked for {total!r}): is the cart empty?"
        return result
    box = page.locator(field).first
    if await box.count() == 0:
        result.problem = f"no coupon field on {page.url} (looked for {field!r})"
        return result
    await box.fill(code, timeout=timeout_s * 1000)
    button = (
        page.locator(submit).first
        if submit
        else box.locator("xpath=ancestor::form[1]").locator("[type=submit], button").first
    )
    if await button.count() == 0:
        await box.press("Enter")
    else:
        await button.click(timeout=timeout_s * 1000)
    await page.wait_for_load_state("load", timeout=timeout_s * 1000)
    # A page that keeps polling never goes idle: it is read as it is.
    with contextlib.suppress(Exception):
        await page.wait_for_load_state("networkidle", timeout=min(timeout_s, 5.0) * 1000)
    result.after = await read_total(page, total)
    messages = page.locator(_MESSAGES)
    texts = [
        " ".join((await messages.nth(i).inner_text()).split())
        for i in range(min(await messages.count(), 5))
        if await messages.nth(i).is_visible()
    ]
    result.message = "; ".join(t for t in texts if t)[:300]
    return result

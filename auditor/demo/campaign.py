"""The demo shop's spring sale: an ad link that redirects to a landing page, and a cart coupon.

`/go/spring?utm_...` is what an ad or the newsletter links to: it redirects (302) to
`/landing/spring-sale` keeping the query, as a shop's short campaign links do. The landing page
offers SPRING20 (20 % off the cart). The campaign's email is shipped in `campaigns/`.

Faults: `utm-stripped` (the redirect drops the query, so analytics lose the campaign),
`coupon-expired` (the cart rejects SPRING20 as expired), `landing-noindex` (the landing page
says `noindex`, so search engines drop it).

The landing page is deliberately neither linked nor in the sitemap: campaign pages are reached
from ads and emails (the campaign check is told `reachable = false`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auditor.demo.catalog import BY_SLUG, format_cents

if TYPE_CHECKING:
    from auditor.demo.app import Shop

COUPON_COOKIE = "coupon"
LANDING = "/landing/spring-sale"
# code -> percent off the cart.
COUPONS = {"SPRING20": 20}
SALE_PRODUCT = "canvas-tote-bag"


class CampaignPages:
    """The campaign's redirect, landing page and coupon form handler."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    async def go(self, request: Request) -> Response:
        """GET /go/spring: 302 to the landing page with the same query (`utm-stripped`: without)."""
        query = request.url.query
        target = LANDING if "utm-stripped" in self.shop.faults or not query else f"{LANDING}?{query}"
        return RedirectResponse(target, status_code=302)

    async def landing(self, request: Request) -> Response:
        """GET /landing/spring-sale: the offer, canonical to itself (`landing-noindex`: noindex)."""
        product = BY_SLUG[SALE_PRODUCT]
        sale_cents = product.price_cents * (100 - COUPONS["SPRING20"]) // 100
        return self.shop.render(
            request,
            "landing_spring.html.j2",
            title="Spring sale",
            product=product,
            sale_price=format_cents(sale_cents),
            canonical=str(request.base_url).rstrip("/") + LANDING,
            noindex="landing-noindex" in self.shop.faults,
        )

    async def apply(self, request: Request) -> Response:
        """POST /cart/coupon (code): remember a valid code in a cookie, or say why not."""
        form = await request.form()
        code = str(form.get("code", "")).strip().upper()
        if code not in COUPONS:
            return RedirectResponse("/cart?coupon_error=unknown", status_code=303)
        if "coupon-expired" in self.shop.faults:
            return RedirectResponse("/cart?coupon_error=expired", status_code=303)
        response = RedirectResponse("/cart", status_code=303)
        response.set_cookie(COUPON_COOKIE, code, httponly=True, samesite="lax")
        return response

    def discount_cents(self, request: Request, total_cents: int) -> tuple[str, int]:
        """The applied code and its discount on `total_cents` (("", 0) without one)."""
        code = request.cookies.get(COUPON_COOKIE, "").upper()
        percent = COUPONS.get(code)
        if percent is None or "coupon-expired" in self.shop.faults:
            return "", 0
        return code, total_cents * percent // 100


COUPON_ERRORS = {
    "unknown": "That code is not valid.",
    "expired": "Sorry, this code has expired.",
}

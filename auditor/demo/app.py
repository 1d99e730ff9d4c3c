"""The demo shop as a Starlette app: catalogue, cart, checkout, fake card payment, and the emails
that follow; accounts live in accounts.py, the contact form and newsletter in outreach.py.

Every fault is decided in these modules or in the templates, from the `Faults` the app was built
with; the healthy shop (no faults) has no broken link, image, script or fragment anywhere.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from auditor.demo import emails
from auditor.demo.accounts import SESSION_COOKIE, AccountPages
from auditor.demo.campaign import COUPON_ERRORS, CampaignPages
from auditor.demo.catalog import BY_SLUG, CURRENCY, PRODUCTS, Product, format_cents
from auditor.demo.faults import Faults
from auditor.demo.gateway import Gateway, UnknownCard, ledger_page
from auditor.demo.mailer import Mailer
from auditor.demo.outreach import ContactPages, NewsletterPages
from auditor.demo.passwords import MIN_LENGTH, PasswordHash, generate_password
from auditor.demo.signing import Signer
from auditor.demo.store import Account, Customer, Order, Store

HERE = Path(__file__).parent
CART_COOKIE = "cart"
COURSE_PDF = HERE / "files" / "complete-course.pdf"

# The information pages: path -> page title; each has a template named after its path.
INFO_PAGES = {"/about": "About us", "/faq": "FAQ", "/terms": "Terms of sale"}
# Pages a visitor can reach by links; the sitemap lists exactly these (products are added).
PUBLIC_PAGES = ("/", *INFO_PAGES, "/contact", "/cart", "/login", "/newsletter")
# Kept out of crawlers' way: pages behind a cart, an order or a login, and the test endpoints.
PRIVATE_PATHS = ("/cart", "/checkout", "/pay", "/account", "/logout", "/_test/")
# What `stale-sitemap` lists although it was removed, and what it leaves out although linked.
REMOVED_PAGE = "/products/summer-sale-bundle"
UNLISTED_PAGE = "/contact"


class Shop:
    """The request handlers, sharing one store, gateway, template set and fault list."""

    def __init__(self, faults: Faults, smtp_host: str, smtp_port: int) -> None:
        self.faults = faults
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self.store = Store()
        self.gateway = Gateway()
        self.mailer = Mailer(smtp_host, smtp_port, bare_lf=faults.behaviour("smtp") == "bare-lf")
        # The `downloads=signed` behaviour's key: links signed by one shop do not open in another.
        self.signer = Signer()
        # Held from the "already paid?" check until the order is marked paid, so that two pay
        # POSTs for one order (a double click) can never both charge in the healthy shop.
        self.paying = asyncio.Lock()
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            # Text emails are plain text: "Harbor & Pine" must not become "Harbor &amp; Pine".
            autoescape=select_autoescape(
                enabled_extensions=("html.j2",),
                disabled_extensions=("txt.j2",),
                default=True,
                default_for_string=True,
            ),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            faults=faults, image_stem=self.image_stem, download_path=self.download_path
        )
        self.accounts = AccountPages(self)
        self.contact = ContactPages(self)
        self.newsletter = NewsletterPages(self)
        self.campaign = CampaignPages(self)
        # PayCo's address (auditor.demo.provider), set by DemoShop once it runs; "" loads no widget.
        self.provider_url = ""

    # --- helpers -------------------------------------------------------------------------

    def image_stem(self, product: Product) -> str:
        """The image file stem for a product; `dead-image` renames the tote's to a missing file."""
        if "dead-image" in self.faults and product.slug == "canvas-tote-bag":
            return f"{product.image}-v2"
        return product.image

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page; the header shows "My account" to a logged-in `viewer`, "Log in" otherwise."""
        context.setdefault("title", "")
        body = self.templates.get_template(name).render(
            path=request.url.path, viewer=self.viewer(request), **context
        )
        return HTMLResponse(body, status_code=status)

    def cart_id(self, request: Request) -> str | None:
        return request.cookies.get(CART_COOKIE)

    def viewer(self, request: Request) -> Account | None:
        """The account the request's session cookie is logged in as, or None."""
        token = request.cookies.get(SESSION_COOKIE)
        return self.store.session(token) if token else None

    def email(
        self,
        request: Request,
        template: str,
        *,
        to: tuple[str, str],
        subject: str,
        delay_s: float = 0.0,
        **context: Any,
    ) -> None:
        """Queue an email to (name, address); its links are absolute, on the request's base URL."""
        base_url = str(request.base_url).rstrip("/")
        message = emails.compose(
            self.templates,
            template,
            to_name=to[0],
            to_email=to[1],
            subject=subject,
            base_url=base_url,
            html_on_one_line=self.faults.behaviour("smtp") == "bare-lf",
            **context,
        )
        self.mailer.send(message, delay_s)

    # --- catalogue -------------------------------------------------------------------------

    async def catalogue(self, request: Request) -> Response:
        """GET /: every product."""
        return self.render(request, "catalogue.html.j2", products=PRODUCTS)

    async def product(self, request: Request) -> Response:
        """GET /products/<slug>: one product with its add-to-cart form."""
        product = BY_SLUG.get(request.path_params["slug"])
        if product is None:
            raise HTTPException(404)
        return self.render(request, "product.html.j2", title=product.name, product=product)

    async def page(self, request: Request) -> Response:
        """GET /about, /faq, /terms."""
        path = request.url.path
        return self.render(
            request, f"{path.strip('/')}.html.j2", title=INFO_PAGES[path], provider_url=self.provider_url
        )

    async def recommendations(self, request: Request) -> Response:
        """GET /api/recommendations: the products the JavaScript grid shows ("You might also like").
        `js-dead-link` adds one whose page does not exist: a dead link only a browser ever sees."""
        items = [
            {"name": p.name, "url": f"/products/{p.slug}", "image": f"/static/images/{p.image}-sm.svg"}
            for p in PRODUCTS
        ]
        if "js-dead-link" in self.faults:
            lantern = "/products/trail-lantern"
            items.append({"name": "Trail Lantern", "url": lantern, "image": "/static/images/logo.svg"})
        return JSONResponse(items)

    # --- cart ------------------------------------------------------------------------------

    async def cart(self, request: Request) -> Response:
        """GET /cart: the cart's lines and total."""
        lines = self.store.cart(self.cart_id(request) or "")
        subtotal = sum(line.total_cents for line in lines)
        code, discount = self.campaign.discount_cents(request, subtotal)
        return self.render(
            request,
            "cart.html.j2",
            title="Cart",
            lines=lines,
            subtotal=format_cents(subtotal),
            coupon=code,
            discount=format_cents(discount),
            total=format_cents(subtotal - discount),
            coupon_error=COUPON_ERRORS.get(request.query_params.get("coupon_error", ""), ""),
        )

    async def cart_count(self, request: Request) -> Response:
        """GET /cart/count: {"count": items in the cart}, for the header badge."""
        lines = self.store.cart(self.cart_id(request) or "")
        return JSONResponse({"count": sum(line.quantity for line in lines)})

    async def cart_add(self, request: Request) -> Response:
        """POST /cart/add (product, quantity): starts a cart cookie if needed."""
        form = await request.form()
        slug = str(form.get("product", ""))
        try:
            quantity = int(str(form.get("quantity", "1")))
        except ValueError:
            quantity = 1
        cart_id = self.cart_id(request) or self.store.new_cart_id()
        try:
            self.store.add(cart_id, slug, quantity)
        except KeyError:
            raise HTTPException(400, f"unknown product {slug!r}") from None
        response = RedirectResponse("/cart", status_code=303)
        response.set_cookie(CART_COOKIE, cart_id, httponly=True, samesite="lax")
        return response

    async def cart_remove(self, request: Request) -> Response:
        """POST /cart/remove (product)."""
        form = await request.form()
        self.store.remove(self.cart_id(request) or "", str(form.get("product", "")))
        return RedirectResponse("/cart", status_code=303)

    # --- checkout and payment --------------------------------------------------------------

    async def checkout(self, request: Request) -> Response:
        """GET/POST /checkout: name, email, address and maybe an account; an order, then /pay."""
        lines = self.store.cart(self.cart_id(request) or "")
        total = format_cents(sum(line.total_cents for line in lines))
        if request.method == "GET":
            return self.render(
                request, "checkout.html.j2", title="Checkout", lines=lines, total=total, errors=[], form={}
            )
        raw = await request.form()
        form = {k: str(v).strip() for k, v in raw.items()}
        errors = [
            label
            for key, label in (("name", "your name"), ("email", "your email"), ("address", "your address"))
            if not form.get(key)
        ]
        if form.get("email") and not emails.valid_email(form["email"]):
            errors.append("a valid email address")
        create_account = form.get("create_account") == "1"
        # Not stripped: spaces may be part of a password.
        password = str(raw.get("password", "")) if create_account else ""
        if password and len(password) < MIN_LENGTH:
            errors.append(f"a password of at least {MIN_LENGTH} characters (or none, and we make one)")
        if not lines:
            errors.append("something in your cart")
        if errors:
            return self.render(
                request,
                "checkout.html.j2",
                title="Checkout",
                lines=lines,
                total=total,
                errors=errors,
                form=form,
            )
        order = self.store.place(Customer(form["name"], form["email"], form["address"]), lines)
        order.create_account = create_account
        order.password = PasswordHash.of(password) if password else None
        return RedirectResponse(f"/pay?order={order.number}", status_code=303)

    def pending_order(self, number: str) -> Order:
        order = self.store.order(number)
        if order is None:
            raise HTTPException(404, "no such order")
        return order

    async def pay_form(self, request: Request) -> Response:
        """GET /pay?order=N: the card form (or the thank-you page once paid)."""
        number = request.query_params.get("order", "")
        if not number:
            return RedirectResponse("/cart", status_code=303)
        order = self.pending_order(number)
        if order.paid:
            return RedirectResponse(f"/thank-you/{order.number}", status_code=303)
        return self.pay_page(request, order)

    async def pay(self, request: Request) -> Response:
        """POST /pay (order, card, expiry, cvc): charge once, then the thank-you page."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        order = self.pending_order(form.get("order", ""))
        if "checkout-error" in self.faults:
            raise HTTPException(500, "payment service unavailable")
        missing = [k for k in ("card", "expiry", "cvc") if not form.get(k, "").strip()]
        if missing:
            return self.pay_page(request, order, "Please fill in the card number, expiry date and CVC.")
        async with self.paying:
            if order.paid and "double-submit" not in self.faults:
                return RedirectResponse(f"/thank-you/{order.number}", status_code=303)
            response = self.charge(request, order, form["card"])
        # `slow-gateway`: the charge is recorded, but the answer comes late (a slow provider).
        await asyncio.sleep(self.faults.seconds("slow-gateway"))
        return response

    def charge(self, request: Request, order: Order, card: str) -> Response:
        """Charge the card for the order; the thank-you redirect, or the pay page with why not."""
        try:
            charge = self.gateway.charge(
                email=order.customer.email,
                amount=order.total_cents,
                currency=CURRENCY,
                card=card,
                order=order.number,
            )
        except UnknownCard:
            return self.pay_page(
                request, order, "That card number is not valid. Please check it and try again."
            )
        if not charge.succeeded or "declined-after-charge" in self.faults:
            return self.pay_page(request, order, "Your card was declined. No payment was taken.")
        if self.store.mark_paid(order, self.new_download_token):
            self.after_payment(request, order)
        response = RedirectResponse(f"/thank-you/{order.number}", status_code=303)
        response.delete_cookie(CART_COOKIE)
        self.store.clear(self.cart_id(request) or "")
        return response

    def after_payment(self, request: Request, order: Order) -> None:
        """Create the account asked for at checkout, then send the order confirmation and the
        account email."""
        generated = ""
        if order.create_account:
            password = order.password
            if password is None:
                generated = generate_password()
                password = PasswordHash.of(generated)
            created = self.store.create_account(order.customer.email, order.customer.name, password)
            order.account_created = created is not None
        if "no-email" not in self.faults:
            copies = 2 if "duplicate-email" in self.faults else 1
            for _ in range(copies):
                self.send_confirmation(request, order)
        if order.account_created:
            self.accounts.send_account_email(request, order.customer, generated)

    def send_confirmation(self, request: Request, order: Order) -> None:
        """The order confirmation: greeting, number, lines, total, downloads, returns link."""
        base_url = str(request.base_url).rstrip("/")
        first_name = "{{ first_name }}" if "merge-tag" in self.faults else order.customer.first_name
        returns = "/help/returns" if "email-dead-link" in self.faults else "/faq#returns"
        downloads = [
            (BY_SLUG[slug].name, base_url + self.download_path(token))
            for token, slug in order.downloads.items()
        ]
        self.email(
            request,
            "order_confirmation",
            to=(order.customer.name, order.customer.email),
            subject=emails.ORDER_SUBJECT.format(number=order.number),
            delay_s=self.faults.seconds("slow-email"),
            first_name=first_name,
            number=order.number,
            lines=order.lines,
            total=format_cents(order.total_cents),
            downloads=downloads,
            account_url=f"{base_url}/account" if order.account_created else "",
            returns_url=base_url + returns,
        )

    def pay_page(self, request: Request, order: Order, message: str = "") -> Response:
        """The card form, with `message` saying why the last attempt did not go through."""
        return self.render(
            request,
            "pay.html.j2",
            title="Payment",
            order=order,
            total=format_cents(order.total_cents),
            error=message,
        )

    async def thank_you(self, request: Request) -> Response:
        """GET /thank-you/<order>: the order number, total and downloads of a paid order."""
        order = self.store.order(request.path_params["order"])
        if order is None or not order.paid:
            raise HTTPException(404)
        return self.render(
            request,
            "thank_you.html.j2",
            title="Thank you",
            order=order,
            total=format_cents(order.total_cents),
        )

    def new_download_token(self, order: Order, slug: str) -> str:
        """A download token for one product of a paid order (`downloads=signed`: a signed value)."""
        if self.faults.behaviour("downloads") == "signed":
            return self.signer.sign({"order": order.number, "product": slug})
        return secrets.token_urlsafe(16)

    def download_path(self, token: str) -> str:
        """Where a download token's file is: /download/<token>, or /downloads/<token>/ when signed."""
        if self.faults.behaviour("downloads") == "signed":
            return f"/downloads/{token}/"
        return f"/download/{token}"

    async def download(self, request: Request) -> Response:
        """GET /download/<token> (or /downloads/<signed token>/): the e-book PDF (`dead-download`:
        404 for every token). A signed token must verify and name a paid order of that product."""
        token = request.path_params["token"]
        signed = self.faults.behaviour("downloads") == "signed"
        if signed != request.url.path.startswith("/downloads/"):
            raise HTTPException(404)
        if signed:
            value = self.signer.unsign(token)
            value = value if isinstance(value, dict) else {}
            order = self.store.order(str(value.get("order", "")))
            if order is None or not order.paid or value.get("product") not in order.downloads.values():
                raise HTTPException(404)
        if self.store.download(token) is None or "dead-download" in self.faults:
            raise HTTPException(404)
        return Response(
            COURSE_PDF.read_bytes(),
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="the-complete-course.pdf"'},
        )

    # --- machine-readable ------------------------------------------------------------------

    async def sitemap(self, request: Request) -> Response:
        """GET /sitemap.xml: every public page."""
        base = str(request.base_url).rstrip("/")
        paths = [*PUBLIC_PAGES, *(f"/products/{p.slug}" for p in PRODUCTS)]
        if "stale-sitemap" in self.faults:
            paths = [p for p in paths if p != UNLISTED_PAGE] + [REMOVED_PAGE]
        urls = "".join(f"  <url><loc>{base}{p}</loc></url>\n" for p in paths)
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
        return Response(body, media_type="application/xml")

    async def robots(self, request: Request) -> Response:
        """GET /robots.txt: keeps crawlers out of the cart, checkout, account and test endpoints."""
        base = str(request.base_url).rstrip("/")
        rules = "".join(f"Disallow: {p}\n" for p in PRIVATE_PATHS)
        return PlainTextResponse(f"User-agent: *\n{rules}\nSitemap: {base}/sitemap.xml\n")

    async def ledger(self, request: Request) -> Response:
        """GET /_test/ledger?email=...: the gateway's charges for that email, as JSON (shaped by the
        `ledger` behaviour; `page`/`cursor` pick a page of the paginated shapes)."""
        email = request.query_params.get("email", "").strip()
        if not email:
            return JSONResponse({"error": "pass ?email=ADDRESS"}, status_code=400)
        page = request.query_params.get("page") or request.query_params.get("cursor") or ""
        charges = self.gateway.charges_for(email)
        return JSONResponse(ledger_page(charges, self.faults.behaviour("ledger"), email, page))

    # --- errors ----------------------------------------------------------------------------

    async def error(self, request: Request, exc: Exception) -> Response:
        """The shop's own 404 and error pages."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return self.render(
            request, "error.html.j2", status, title="Not found" if status == 404 else "Error", code=status
        )


def create_app(
    faults: Faults | None = None, smtp_host: str = "127.0.0.1", smtp_port: int = 8025
) -> Starlette:
    """Build the demo shop with the given faults switched on (none: a healthy shop)."""
    shop = Shop(faults or Faults(), smtp_host, smtp_port)
    routes = [
        Route("/", shop.catalogue),
        Route("/products/{slug}", shop.product),
        *(Route(p, shop.page) for p in INFO_PAGES),
        Route("/contact", shop.contact.form, methods=["GET"]),
        Route("/contact", shop.contact.send, methods=["POST"]),
        Route("/newsletter", shop.newsletter.form, methods=["GET"]),
        Route("/newsletter", shop.newsletter.subscribe, methods=["POST"]),
        Route("/newsletter/confirm/{token}", shop.newsletter.confirm),
        Route("/login", shop.accounts.login_form, methods=["GET"]),
        Route("/login", shop.accounts.login, methods=["POST"]),
        Route("/logout", shop.accounts.logout, methods=["POST"]),
        Route("/account", shop.accounts.account),
        Route("/account/orders", shop.accounts.orders),
        Route("/cart", shop.cart),
        Route("/cart/count", shop.cart_count),
        Route("/cart/add", shop.cart_add, methods=["POST"]),
        Route("/cart/remove", shop.cart_remove, methods=["POST"]),
        Route("/cart/coupon", shop.campaign.apply, methods=["POST"]),
        Route("/go/spring", shop.campaign.go),
        Route("/landing/spring-sale", shop.campaign.landing),
        Route("/checkout", shop.checkout, methods=["GET", "POST"]),
        Route("/pay", shop.pay_form, methods=["GET"]),
        Route("/pay", shop.pay, methods=["POST"]),
        Route("/thank-you/{order}", shop.thank_you),
        Route("/download/{token}", shop.download),
        Route("/downloads/{token}/", shop.download),
        Route("/sitemap.xml", shop.sitemap),
        Route("/robots.txt", shop.robots),
        Route("/api/recommendations", shop.recommendations),
        Route("/_test/ledger", shop.ledger),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: shop.error, 500: shop.error})
    app.state.shop = shop
    return app

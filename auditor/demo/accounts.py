"""Customer accounts in the demo shop: log in, log out, My account, and the account email.

With the `account=orders-page` behaviour My account is two pages, as on many real shops: /account
greets the customer and links to /account/orders, which lists the orders and their downloads.

Accounts are created at checkout (app.py, once the order is paid). A session is a random token in
an HttpOnly cookie. Logging out is a POST form, so a crawler following links never logs anyone out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auditor.demo import emails
from auditor.demo.catalog import BY_SLUG, format_cents
from auditor.demo.store import Customer

if TYPE_CHECKING:
    from auditor.demo.app import Shop

SESSION_COOKIE = "session"
DEFAULT_NEXT = "/account"
WRONG_CREDENTIALS = "Wrong email or password."


def safe_next(value: str) -> str:
    """Where to go after logging in: a path on this shop only, never another site."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return DEFAULT_NEXT


class AccountPages:
    """GET/POST /login, POST /logout, GET /account and /account/orders."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    async def login_form(self, request: Request) -> Response:
        """GET /login: the form (a visitor already logged in goes straight on)."""
        next_path = safe_next(request.query_params.get("next", DEFAULT_NEXT))
        if self.shop.viewer(request) is not None:
            return RedirectResponse(next_path, status_code=303)
        return self.page(request, next_path)

    async def login(self, request: Request) -> Response:
        """POST /login (email, password, next): a session cookie and on to `next`, or the form again."""
        form = await request.form()
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        next_path = safe_next(str(form.get("next", DEFAULT_NEXT)))
        account = self.shop.store.account(email) if email else None
        # `login-broken`: as if checkout stored the password under a scheme login does not check.
        accepted = account is not None and account.password.matches(password)
        if account is None or not accepted or "login-broken" in self.shop.faults:
            return self.page(request, next_path, email=email, error=WRONG_CREDENTIALS)
        response = RedirectResponse(next_path, status_code=303)
        token = self.shop.store.open_session(account)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax")
        return response

    async def logout(self, request: Request) -> Response:
        """POST /logout: ends the session and goes home."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            self.shop.store.close_session(token)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return response

    async def account(self, request: Request) -> Response:
        """GET /account: the customer's paid orders and downloads (logged out: to the login form);
        with `account=orders-page` only a link to them."""
        return self.account_page(request, "/account")

    async def orders(self, request: Request) -> Response:
        """GET /account/orders: the orders page of `account=orders-page` (404 on the one-page account)."""
        if self.shop.faults.behaviour("account") != "orders-page":
            raise HTTPException(404)
        return self.account_page(request, "/account/orders")

    def account_page(self, request: Request, path: str) -> Response:
        viewer = self.shop.viewer(request)
        if viewer is None:
            return RedirectResponse(f"/login?next={path}", status_code=303)
        split = self.shop.faults.behaviour("account") == "orders-page"
        orders = [
            {
                "number": order.number,
                "total": format_cents(order.total_cents),
                "lines": order.lines,
                "downloads": [(token, BY_SLUG[slug].name) for token, slug in order.downloads.items()],
            }
            for order in self.shop.store.paid_orders(viewer.email)
        ]
        return self.shop.render(
            request,
            "account.html.j2",
            title="Your orders" if path == "/account/orders" else "My account",
            account=viewer,
            orders=orders,
            # The split account's first page shows no order, only where they are.
            orders_link="/account/orders" if split and path == "/account" else "",
        )

    def page(self, request: Request, next_path: str, email: str = "", error: str = "") -> Response:
        return self.shop.render(
            request, "login.html.j2", title="Log in", next_path=next_path, email=email, error=error
        )

    def send_account_email(self, request: Request, customer: Customer, generated_password: str) -> None:
        """The account email: where to log in, with the generated password if the shop made one."""
        base_url = str(request.base_url).rstrip("/")
        self.shop.email(
            request,
            "account",
            to=(customer.name, customer.email),
            subject=emails.ACCOUNT_SUBJECT,
            first_name=customer.first_name,
            email=customer.email,
            password=generated_password,
            login_url=f"{base_url}/login",
            account_url=f"{base_url}/account",
        )

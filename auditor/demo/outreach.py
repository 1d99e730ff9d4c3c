"""The demo shop's contact form (with its auto-response) and newsletter (double opt-in).

Both are forms a customer fills in and an email that should follow: what an audit checks is that
the page thanks the customer and the email arrives, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from auditor.demo import emails
from auditor.demo.store import ContactMessage, Customer

if TYPE_CHECKING:
    from auditor.demo.app import Shop

CONTACT_FIELDS = (("name", "your name"), ("email", "your email"), ("message", "your message"))


class ContactPages:
    """GET/POST /contact."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    async def form(self, request: Request) -> Response:
        """GET /contact: how to reach us, and the contact form."""
        return self.page(request)

    async def send(self, request: Request) -> Response:
        """POST /contact (name, email, message): thanks, and the auto-response email."""
        form = {k: str(v).strip() for k, v in (await request.form()).items()}
        errors = [label for key, label in CONTACT_FIELDS if not form.get(key)]
        if form.get("email") and not emails.valid_email(form["email"]):
            errors.append("a valid email address")
        if errors:
            return self.page(request, form=form, errors=errors)
        message = ContactMessage(form["name"], form["email"], form["message"])
        self.shop.store.add_message(message)
        first_name = Customer(message.name, message.email, "").first_name
        if "no-autoresponse" not in self.shop.faults:
            self.shop.email(
                request,
                "contact_autoresponse",
                to=(message.name, message.email),
                subject=emails.CONTACT_SUBJECT,
                first_name=first_name,
                message=message.message,
                faq_url=f"{str(request.base_url).rstrip('/')}/faq",
            )
        return self.page(request, thanks=first_name)

    def page(self, request: Request, **context: Any) -> Response:
        """The contact page: the form (with `form` values and `errors`), or `thanks` <first name>."""
        context.setdefault("form", {})
        context.setdefault("errors", [])
        return self.shop.render(request, "contact.html.j2", title="Contact", **context)


class NewsletterPages:
    """GET/POST /newsletter and GET /newsletter/confirm/<token>."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    async def form(self, request: Request) -> Response:
        """GET /newsletter: the signup form alone."""
        return self.page(request)

    async def subscribe(self, request: Request) -> Response:
        """POST /newsletter (email): the confirmation email; the subscription starts once confirmed."""
        email = str((await request.form()).get("email", "")).strip()
        if not emails.valid_email(email):
            return self.page(request, email=email, error="Please enter a valid email address.")
        subscriber = self.shop.store.subscribe(email)
        if subscriber.confirmed:
            return self.page(request, confirmed=True, again=True)
        base_url = str(request.base_url).rstrip("/")
        self.shop.email(
            request,
            "newsletter_confirm",
            to=("", subscriber.email),
            subject=emails.NEWSLETTER_CONFIRM_SUBJECT,
            email=subscriber.email,
            confirm_url=f"{base_url}/newsletter/confirm/{subscriber.token}",
        )
        return self.page(request, pending=True)

    async def confirm(self, request: Request) -> Response:
        """GET /newsletter/confirm/<token>: subscribed, and the welcome email the first time only."""
        found = self.shop.store.confirm(request.path_params["token"])
        if found is None:
            raise HTTPException(404)
        subscriber, first_time = found
        if first_time:
            self.shop.email(
                request,
                "newsletter_welcome",
                to=("", subscriber.email),
                subject=emails.NEWSLETTER_WELCOME_SUBJECT,
            )
        return self.page(request, confirmed=True, again=not first_time)

    def page(self, request: Request, **context: Any) -> Response:
        return self.shop.render(request, "newsletter.html.j2", title="Newsletter", **context)

"""The demo shop's five emails, built from templates: a text and an HTML part each.

Building is pure (no I/O): the shop decides what goes in (faults included) and hands the result
to the mailer. Templates live in templates/emails/<name>.txt.j2 and <name>.html.j2.
"""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from jinja2 import Environment

SENDER = Address("Harbor & Pine", "orders", "harbor-and-pine.test")
MESSAGE_ID_DOMAIN = "harbor-and-pine.test"

ORDER_SUBJECT = "Your Harbor & Pine order #{number}"
ACCOUNT_SUBJECT = "Your Harbor & Pine account"
CONTACT_SUBJECT = "We received your message"
NEWSLETTER_CONFIRM_SUBJECT = "Please confirm your subscription"
NEWSLETTER_WELCOME_SUBJECT = "Welcome to the Harbor & Pine newsletter"


def one_line(text: str) -> str:
    """Text safe in a header: what a customer types may hold line breaks."""
    return " ".join(text.split())


def compose(
    templates: Environment,
    name: str,
    *,
    to_name: str,
    to_email: str,
    subject: str,
    html_on_one_line: bool = False,
    **context: Any,
) -> EmailMessage:
    """A multipart/alternative message from templates/emails/<name>.{txt,html}.j2.

    `html_on_one_line`: the HTML part minified to one line and sent as 8bit, unwrapped, as many
    mailers send it (a line far over SMTP's 1,000 characters). The Date header is set by the
    mailer when the message is sent.
    """
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = Address(one_line(to_name), addr_spec=to_email.strip())
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=MESSAGE_ID_DOMAIN)
    message.set_content(templates.get_template(f"emails/{name}.txt.j2").render(**context))
    html = templates.get_template(f"emails/{name}.html.j2").render(subject=subject, **context)
    if html_on_one_line:
        message.add_alternative(" ".join(html.split()) + "\n", subtype="html", cte="8bit")
    else:
        message.add_alternative(html, subtype="html")
    return message


def valid_email(address: str) -> bool:
    """Whether `address` is one plain address a message can be sent to (what forms accept)."""
    if address.count("@") != 1:
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, HeaderParseError):
        return False
    return True

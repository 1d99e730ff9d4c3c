"""Building and sending test emails: real SMTP into the sink, like a shop sends them."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def email(
    to: str,
    subject: str = "Your Harbor & Pine order #A1B2C3",
    text_body: str = "Hi Ann,\nthanks for your order.",
    html_body: str | None = None,
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Harbor & Pine <orders@harbor-and-pine.test>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="harbor-and-pine.test")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text_body)
    if html_body is not None:
        msg.add_alternative(html_body, subtype="html")
    return msg


def send(port: int, msg: EmailMessage, rcpt: list[str] | None = None) -> None:
    """Deliver `msg` over real SMTP to the sink on `port` (envelope recipients `rcpt`, else To)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg, to_addrs=rcpt)

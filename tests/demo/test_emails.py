"""The order confirmation and account emails, received by a real SMTP server, and the email faults."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from auditor.demo import DemoShop, parse_faults
from auditor.demo.emails import ACCOUNT_SUBJECT
from tests.demo.inbox import Inbox, Received
from tests.demo.shopper import StartShop, buy, pay, place_order, unique_email

PASSWORD = "correct horse battery"


def confirmation_subject(order: str) -> str:
    return f"Your Harbor & Pine order #{order}"


def html_links(mail: Received) -> list[str]:
    return [n.attributes["href"] or "" for n in HTMLParser(mail.html).css("a[href]")]


def test_the_order_confirmation_has_everything_a_customer_needs(
    client: httpx.Client, shop: DemoShop, inbox: Inbox
) -> None:
    email = unique_email("confirm")
    purchase = buy(client, "the-complete-course", email, create_account="1", password=PASSWORD)
    [mail] = inbox.wait_for(email, confirmation_subject(purchase.order))
    message = mail.message
    assert message["From"] == "Harbor & Pine <orders@harbor-and-pine.test>"
    assert message["To"] == f"Ada Lovelace <{email}>"
    assert message["Message-ID"].endswith("@harbor-and-pine.test>") and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    base = shop.base_url
    for body in (mail.text, HTMLParser(mail.html).body.text()):
        assert "Hi Ada," in body
        assert f"#{purchase.order}" in body
        assert "The Complete Course (e-book)" in body
        assert "497.00 USD" in body
        assert "{{" not in body and "{%" not in body
    downloads = [link for link in mail.text_links() if link.startswith(f"{base}/download/")]
    assert len(downloads) == 1 and downloads[0] in html_links(mail)
    pdf = client.get(downloads[0])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    for link in (f"{base}/faq#returns", f"{base}/account"):
        assert link in mail.text_links() and link in html_links(mail)
    faq = client.get(f"{base}/faq")
    assert faq.status_code == 200 and 'id="returns"' in faq.text


def test_a_guest_confirmation_has_no_account_link_and_a_physical_one_no_downloads(
    client: httpx.Client, inbox: Inbox
) -> None:
    email = unique_email("guest")
    purchase = buy(client, "enamel-mug", email)
    [mail] = inbox.wait_for(email, confirmation_subject(purchase.order))
    assert "18.00 USD" in mail.text
    assert not any(
        "/account" in link or "/download/" in link for link in mail.text_links() + html_links(mail)
    )


def test_the_account_email_says_where_to_log_in_with_the_chosen_password(
    client: httpx.Client, shop: DemoShop, inbox: Inbox
) -> None:
    email = unique_email("chosen")
    buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    [mail] = inbox.wait_for(email, ACCOUNT_SUBJECT)
    assert f"Log in at {shop.base_url}/login with {email}" in " ".join(mail.text.split())
    assert "the password you chose at checkout" in mail.text
    assert PASSWORD not in mail.text and PASSWORD not in mail.html
    assert mail.message["Message-ID"] and mail.message["Date"]


def test_a_declined_payment_sends_nothing(client: httpx.Client, shop: DemoShop, inbox: Inbox) -> None:
    email = unique_email("declined")
    order = place_order(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    pay(client, order, "4000 0000 0000 0002")
    assert shop.mailer.join()
    assert inbox.to(email) == []


def test_merge_tag_greets_with_the_literal_tag(start_shop: StartShop, inbox: Inbox) -> None:
    with httpx.Client(base_url=start_shop("merge-tag").base_url) as client:
        email = unique_email("merge")
        purchase = buy(client, "enamel-mug", email)
    [mail] = inbox.wait_for(email, confirmation_subject(purchase.order))
    assert "Hi {{ first_name }}," in mail.text and "Hi {{ first_name }}," in mail.html
    assert "Hi Ada," not in mail.text


def test_email_dead_link_points_the_returns_link_at_a_404(start_shop: StartShop, inbox: Inbox) -> None:
    shop = start_shop("email-dead-link")
    with httpx.Client(base_url=shop.base_url) as client:
        email = unique_email("deadlink")
        purchase = buy(client, "enamel-mug", email)
        [mail] = inbox.wait_for(email, confirmation_subject(purchase.order))
        dead = f"{shop.base_url}/help/returns"
        assert dead in mail.text_links() and dead in html_links(mail)
        assert f"{shop.base_url}/faq#returns" not in mail.text_links()
        assert client.get(dead).status_code == 404


def test_duplicate_email_sends_the_confirmation_twice(start_shop: StartShop, inbox: Inbox) -> None:
    shop = start_shop("duplicate-email")
    with httpx.Client(base_url=shop.base_url) as client:
        email = unique_email("dup")
        purchase = buy(client, "enamel-mug", email)
    mails = inbox.wait_for(email, confirmation_subject(purchase.order), count=2)
    assert shop.mailer.join()
    assert len(inbox.to(email)) == len(mails) == 2


def test_the_healthy_shop_sends_one_confirmation_even_when_paid_twice(
    client: httpx.Client, shop: DemoShop, inbox: Inbox
) -> None:
    email = unique_email("once")
    order = place_order(client, "enamel-mug", email)
    pay(client, order)
    pay(client, order)
    assert shop.mailer.join()
    assert len(inbox.to(email, confirmation_subject(order))) == 1


def test_no_email_sends_no_confirmation_but_still_the_account_email(
    start_shop: StartShop, inbox: Inbox
) -> None:
    shop = start_shop("no-email")
    with httpx.Client(base_url=shop.base_url) as client:
        email = unique_email("noemail")
        buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    assert inbox.wait_for(email, ACCOUNT_SUBJECT)
    assert shop.mailer.join()
    assert [m.subject for m in inbox.to(email)] == [ACCOUNT_SUBJECT]


def test_slow_email_sends_the_confirmation_late_without_slowing_anything_else(
    start_shop: StartShop, inbox: Inbox
) -> None:
    shop = start_shop("slow-email=1")
    with httpx.Client(base_url=shop.base_url) as client:
        email = unique_email("slow")
        order = place_order(client, "enamel-mug", email, create_account="1", password=PASSWORD)
        paid_at = time.monotonic()
        assert pay(client, order).status_code == 303
        assert time.monotonic() - paid_at < 1  # the pay request did not wait for the email
        assert client.get("/").status_code == 200
        [account] = inbox.wait_for(email, ACCOUNT_SUBJECT)
        [confirmation] = inbox.wait_for(email, confirmation_subject(order), timeout_s=5)
    assert account.arrived - paid_at < 1  # queued after the confirmation, yet not held back by it
    assert confirmation.arrived - paid_at >= 1


def test_slow_email_waits_ten_seconds_when_given_without_a_value() -> None:
    assert parse_faults(["slow-email"], environ={}).seconds("slow-email") == 10
    assert parse_faults(["slow-email=0.5"], environ={}).seconds("slow-email") == 0.5
    assert parse_faults([], environ={}).seconds("slow-email") == 0


def test_a_dead_mail_server_is_logged_and_never_fails_the_order(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        caplog.at_level(logging.WARNING, logger="auditor.demo.mailer"),
        DemoShop(smtp_port=port) as shop,
        httpx.Client(base_url=shop.base_url) as client,
    ):
        purchase = buy(client, "the-complete-course", "down@example.com", create_account="1", password="")
        assert purchase.response.status_code == 200 and "Order #" in purchase.response.text
        assert shop.mailer.join()
    assert (shop.mailer.sent, shop.mailer.failed) == (0, 2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert f"127.0.0.1:{port}" in warnings[0] and "down@example.com" in warnings[0]


def test_stopping_the_shop_drops_a_late_email_at_once(start_shop: StartShop, inbox: Inbox) -> None:
    shop = start_shop("slow-email=60")
    with httpx.Client(base_url=shop.base_url) as client:
        email = unique_email("dropped")
        buy(client, "enamel-mug", email)
    assert not shop.mailer.join(timeout_s=0.1)  # still waiting to be sent
    began = time.monotonic()
    shop.stop()
    assert time.monotonic() - began < 5
    assert shop.mailer.join(timeout_s=0) and inbox.to(email) == []


def test_a_restarted_shop_still_sends_email(start_shop: StartShop, inbox: Inbox) -> None:
    shop = start_shop()
    shop.stop()
    shop.start()
    with httpx.Client(base_url=shop.base_url) as client:
        email = unique_email("restart")
        purchase = buy(client, "enamel-mug", email)
    assert inbox.wait_for(email, confirmation_subject(purchase.order))

"""Accounts created at checkout: log in, My account, log out, and the faults that break them."""

from __future__ import annotations

import re

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from auditor.demo import DemoShop
from auditor.demo.emails import ACCOUNT_SUBJECT
from tests.demo.inbox import Inbox
from tests.demo.shopper import StartShop, buy, log_in, place_order, unique_email

PASSWORD = "correct horse battery"


def alert(response: httpx.Response) -> str:
    node = HTMLParser(response.text).css_first("p.alert[role=alert]")
    return node.text(strip=True) if node else ""


def test_an_account_created_at_checkout_logs_in_and_lists_the_order(client: httpx.Client) -> None:
    email = unique_email("acct")
    purchase = buy(client, "the-complete-course", email, create_account="1", password=PASSWORD)
    assert "Your account is ready" in purchase.response.text
    assert 'href="/login">Log in</a>' in client.get("/").text
    response = log_in(client, email, PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("session=") and "httponly" in cookie.lower()
    page = HTMLParser(client.get("/account").text)
    assert page.css_first("h1").text() == "My account"
    assert email in page.css_first(".account-email").text()
    [order] = page.css("li.account-order")
    assert order.css_first(".order-number").text() == f"Order #{purchase.order}"
    assert "The Complete Course (e-book)" in order.text()
    [download] = order.css("a.download")
    pdf = client.get(download.attributes["href"] or "")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    header = client.get("/").text
    assert 'href="/account">My account</a>' in header and 'id="logout-button"' in header


def test_my_account_lists_only_paid_orders_of_that_email(client: httpx.Client) -> None:
    email = unique_email("orders")
    first = buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    second = buy(client, "canvas-tote-bag", email.upper())  # same customer, another spelling
    place_order(client, "the-complete-course", email)  # never paid
    buy(client, "enamel-mug", unique_email("someone-else"))
    log_in(client, email, PASSWORD)
    numbers = [
        n.text() for n in HTMLParser(client.get("/account").text).css("li.account-order .order-number")
    ]
    assert numbers == [f"Order #{second.order}", f"Order #{first.order}"]


def test_a_wrong_password_is_refused_with_the_form_again(client: httpx.Client) -> None:
    email = unique_email("wrong")
    buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    for who, password in [(email, "not the password"), (unique_email("nobody"), PASSWORD)]:
        response = log_in(client, who, password)
        assert response.status_code == 200
        assert alert(response) == "Wrong email or password."
        assert 'id="login-password"' in response.text and "set-cookie" not in response.headers


def test_login_broken_rejects_the_password_chosen_at_checkout(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("login-broken").base_url) as client:
        email = unique_email("broken")
        buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
        response = log_in(client, email, PASSWORD)
        assert response.status_code == 200 and alert(response) == "Wrong email or password."
        assert client.get("/account").headers["location"] == "/login?next=/account"


def test_my_account_sends_a_visitor_who_is_not_logged_in_to_the_login_form(client: httpx.Client) -> None:
    response = client.get("/account")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/account"
    form = HTMLParser(client.get(response.headers["location"]).text)
    assert form.css_first("input[name=next]").attributes["value"] == "/account"
    assert {"login-email", "login-password", "login-button"} <= {n.attributes["id"] for n in form.css("[id]")}


def test_login_goes_on_to_next_but_never_to_another_site(client: httpx.Client) -> None:
    email = unique_email("next")
    buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    assert log_in(client, email, PASSWORD, "/faq").headers["location"] == "/faq"
    for evil in ["//evil.example/", "https://evil.example/", "/\\evil.example"]:
        assert log_in(client, email, PASSWORD, evil).headers["location"] == "/account"
    assert client.get("/login", params={"next": "/cart"}).headers["location"] == "/cart"  # logged in


def test_logout_is_a_post_that_ends_the_session(client: httpx.Client) -> None:
    email = unique_email("logout")
    buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    log_in(client, email, PASSWORD)
    session = client.cookies["session"]
    assert client.get("/logout").status_code == 405  # a link can never log anyone out
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "session" not in client.cookies
    assert client.get("/account").status_code == 303
    # The old cookie is dead on the server too, not only forgotten by this client.
    with httpx.Client(base_url=str(client.base_url), cookies={"session": session}) as stale:
        assert stale.get("/account").status_code == 303


def test_an_empty_password_makes_one_and_mails_it(client: httpx.Client, shop: DemoShop, inbox: Inbox) -> None:
    email = unique_email("generated")
    buy(client, "enamel-mug", email, create_account="1", password="")
    [mail] = inbox.wait_for(email, ACCOUNT_SUBJECT)
    match = re.search(r"Your password: (\S+)", mail.text)
    assert match, mail.text
    assert log_in(client, email, match.group(1)).status_code == 303


def test_no_account_without_the_box_even_with_a_password(
    client: httpx.Client, shop: DemoShop, inbox: Inbox
) -> None:
    email = unique_email("guest")
    purchase = buy(client, "enamel-mug", email, password=PASSWORD)
    assert "Your account is ready" not in purchase.response.text
    assert alert(log_in(client, email, PASSWORD)) == "Wrong email or password."
    assert shop.mailer.join()
    assert inbox.to(email, ACCOUNT_SUBJECT) == []


def test_a_short_password_is_refused_at_checkout(client: httpx.Client) -> None:
    client.post("/cart/add", data={"product": "enamel-mug"})
    data = {"name": "Ada", "email": "short@example.com", "address": "1 Loop Rd"}
    response = client.post("/checkout", data={**data, "create_account": "1", "password": "abc"})
    assert response.status_code == 200
    assert "a password of at least 8 characters" in alert(response)
    assert 'id="create-account" name="create_account" value="1" checked' in response.text


def test_a_second_account_for_the_same_email_keeps_the_first_password(client: httpx.Client) -> None:
    email = unique_email("twice")
    buy(client, "enamel-mug", email, create_account="1", password=PASSWORD)
    buy(client, "enamel-mug", email, create_account="1", password="another password")
    assert log_in(client, email, PASSWORD).status_code == 303
    assert alert(log_in(client, email, "another password")) == "Wrong email or password."


def test_dead_download_answers_404_for_links_that_still_appear(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("dead-download").base_url) as client:
        email = unique_email("dead-dl")
        purchase = buy(client, "the-complete-course", email, create_account="1", password=PASSWORD)
        log_in(client, email, PASSWORD)
        links = [
            n.attributes["href"] or ""
            for text in (purchase.response.text, client.get("/account").text)
            for n in HTMLParser(text).css("a.download")
        ]
        assert len(links) == 2
        assert [client.get(link).status_code for link in links] == [404, 404]

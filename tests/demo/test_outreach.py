"""The contact form with its auto-response, and the newsletter's double opt-in."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from auditor.demo import DemoShop
from auditor.demo.emails import CONTACT_SUBJECT, NEWSLETTER_CONFIRM_SUBJECT, NEWSLETTER_WELCOME_SUBJECT
from tests.demo.inbox import Inbox
from tests.demo.shopper import StartShop, unique_email


def text_of(response: httpx.Response, selector: str) -> str:
    node = HTMLParser(response.text).css_first(selector)
    return node.text(strip=True) if node else ""


def contact(
    client: httpx.Client, email: str, name: str = "Ada Lovelace", message: str = "Hi!"
) -> httpx.Response:
    return client.post("/contact", data={"name": name, "email": email, "message": message})


def test_the_contact_page_has_the_form(client: httpx.Client) -> None:
    page = HTMLParser(client.get("/contact").text)
    form = page.css_first("form#contact-form")
    assert form is not None and form.attributes["action"] == "/contact"
    names = {n.attributes["id"]: n.attributes.get("name") for n in form.css("input, textarea, button")}
    assert names == {
        "contact-name": "name",
        "contact-email": "email",
        "contact-message": "message",
        "contact-submit": None,
    }


def test_a_message_is_thanked_and_auto_answered(client: httpx.Client, shop: DemoShop, inbox: Inbox) -> None:
    email = unique_email("contact")
    response = contact(client, email, message="Where is my <b>mug</b>?")
    assert response.status_code == 200
    assert text_of(response, "p.contact-thanks") == "Thanks, Ada! We'll reply within 1 business day."
    [mail] = inbox.wait_for(email, CONTACT_SUBJECT)
    expected = (
        "Hi Ada, thanks for writing to Harbor & Pine. A member of our team will reply within 1 business day."
    )
    assert expected in " ".join(mail.text.split())
    assert "Where is my <b>mug</b>?" in mail.text
    assert "Where is my &lt;b&gt;mug&lt;/b&gt;?" in mail.html  # escaped, never markup
    assert shop.app.state.shop.store.messages[-1].email == email


def test_missing_fields_show_the_form_again_and_send_nothing(
    client: httpx.Client, shop: DemoShop, inbox: Inbox
) -> None:
    email = unique_email("incomplete")
    response = contact(client, email, name="", message="")
    assert response.status_code == 200
    assert text_of(response, "p.alert[role=alert]") == "Please enter your name, your message."
    assert 'id="contact-form"' in response.text and f'value="{email}"' in response.text
    bad = contact(client, "not-an-address")
    assert text_of(bad, "p.alert[role=alert]") == "Please enter a valid email address."
    assert shop.mailer.join()
    assert inbox.to(email) == []


def test_no_autoresponse_thanks_but_sends_nothing(start_shop: StartShop, inbox: Inbox) -> None:
    shop = start_shop("no-autoresponse")
    with httpx.Client(base_url=shop.base_url) as client:
        email = unique_email("silent")
        response = contact(client, email)
    assert text_of(response, "p.contact-thanks").startswith("Thanks, Ada!")
    assert shop.mailer.join()
    assert inbox.to(email) == []


def test_the_newsletter_needs_a_confirmed_address_and_welcomes_it_once(
    client: httpx.Client, shop: DemoShop, inbox: Inbox
) -> None:
    email = unique_email("news")
    response = client.post("/newsletter", data={"email": email})
    assert response.status_code == 200
    assert text_of(response, "p.newsletter-pending") == "Almost done: check your inbox to confirm."
    [mail] = inbox.wait_for(email, NEWSLETTER_CONFIRM_SUBJECT)
    [link] = [u for u in mail.text_links() if u.startswith(f"{shop.base_url}/newsletter/confirm/")]
    assert link in [n.attributes["href"] for n in HTMLParser(mail.html).css("a[href]")]
    assert inbox.to(email, NEWSLETTER_WELCOME_SUBJECT) == []  # nothing before confirming
    confirmed = client.get(link)
    assert confirmed.status_code == 200
    assert text_of(confirmed, "p.newsletter-confirmed") == "You're subscribed."
    assert inbox.wait_for(email, NEWSLETTER_WELCOME_SUBJECT)
    again = client.get(link)
    assert again.status_code == 200 and "already confirmed" in again.text
    client.post("/newsletter", data={"email": email})  # signing up again once confirmed
    assert shop.mailer.join()
    assert [m.subject for m in inbox.to(email)] == [NEWSLETTER_CONFIRM_SUBJECT, NEWSLETTER_WELCOME_SUBJECT]


def test_an_unknown_confirmation_token_is_a_404(client: httpx.Client) -> None:
    assert client.get("/newsletter/confirm/not-a-token").status_code == 404


def test_a_bad_newsletter_address_shows_the_form_alone_with_an_alert(client: httpx.Client) -> None:
    response = client.post("/newsletter", data={"email": "nope"})
    assert response.status_code == 200
    assert text_of(response, "p.alert[role=alert]") == "Please enter a valid email address."
    assert response.text.count('id="newsletter-form"') == 1


def test_every_page_has_one_newsletter_form(client: httpx.Client) -> None:
    for path in ["/", "/faq", "/contact", "/login", "/products/enamel-mug", "/newsletter"]:
        page = HTMLParser(client.get(path).text)
        [form] = page.css("form#newsletter-form")
        assert form.attributes["action"] == "/newsletter" and form.attributes["method"] == "post", path
        assert form.css_first("#newsletter-email").attributes["name"] == "email"
        assert form.css_first("#newsletter-submit") is not None

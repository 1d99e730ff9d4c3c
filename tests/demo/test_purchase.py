from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from auditor.demo import DemoShop
from tests.demo.shopper import DECLINE, StartShop, buy, ledger, pay, place_order


def test_a_guest_buys_the_tote_and_is_charged_once(client: httpx.Client) -> None:
    purchase = buy(client, "canvas-tote-bag", "ada@example.com")
    assert purchase.response.status_code == 200
    assert f"Order #{purchase.order}" in purchase.response.text
    assert "24.00 USD" in purchase.response.text
    [charge] = ledger(client, "ada@example.com")
    assert charge["status"] == "succeeded" and charge["captured"] is True
    assert charge["amount"] == 2400 and charge["currency"] == "USD"
    assert charge["order"] == purchase.order and charge["created"] and charge["id"]


def test_the_ebook_download_link_serves_a_pdf(client: httpx.Client) -> None:
    purchase = buy(client, "the-complete-course", "grace@example.com")
    assert "497.00 USD" in purchase.response.text
    link = purchase.response.text.split('class="download" href="')[1].split('"')[0]
    download = client.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-")


def test_the_decline_card_says_declined_and_records_a_failed_charge(client: httpx.Client) -> None:
    purchase = buy(client, "enamel-mug", "decl@example.com", card=DECLINE)
    assert "declined" in purchase.response.text
    assert "Order #" in purchase.response.text  # still on the pay page, not a thank-you page
    assert [c["status"] for c in ledger(client, "decl@example.com")] == ["failed"]
    assert client.get(purchase.thank_you_url).status_code == 404


def test_an_unknown_card_is_refused_without_a_charge(client: httpx.Client) -> None:
    order = place_order(client, "enamel-mug", "typo@example.com")
    response = pay(client, order, "1234 5678")
    assert "not valid" in response.text
    assert ledger(client, "typo@example.com") == []


def test_paying_the_same_order_twice_charges_once(client: httpx.Client) -> None:
    order = place_order(client, "enamel-mug", "twice@example.com")
    # The pay form guards itself against a second click, too.
    assert "data-allow-resubmit" not in client.get("/pay", params={"order": order}).text
    first, second = pay(client, order), pay(client, order)
    assert first.headers["location"] == second.headers["location"] == f"/thank-you/{order}"
    assert len(ledger(client, "twice@example.com")) == 1


def test_concurrent_pay_posts_for_one_order_charge_once(shop: DemoShop, client: httpx.Client) -> None:
    order = place_order(client, "enamel-mug", "race@example.com")

    def pay_in_own_client(_: int) -> int:
        with httpx.Client(base_url=shop.base_url) as other:
            return pay(other, order).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(pay_in_own_client, range(4))) == [303] * 4
    assert len(ledger(client, "race@example.com")) == 1


def test_double_submit_charges_again_for_each_pay_post(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("double-submit").base_url) as client:
        order = place_order(client, "enamel-mug", "dbl@example.com")
        assert "data-allow-resubmit" in client.get("/pay", params={"order": order}).text
        pay(client, order)
        pay(client, order)
        assert [c["status"] for c in ledger(client, "dbl@example.com")] == ["succeeded"] * 2


def test_checkout_error_answers_500_on_pay_and_charges_nothing(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("checkout-error").base_url) as client:
        order = place_order(client, "enamel-mug", "err@example.com")
        assert client.get("/pay", params={"order": order}).status_code == 200
        assert pay(client, order).status_code == 500
        assert ledger(client, "err@example.com") == []


def test_declined_after_charge_says_declined_but_the_card_was_charged(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("declined-after-charge").base_url) as client:
        purchase = buy(client, "enamel-mug", "dac@example.com")
        assert "declined" in purchase.response.text
        assert [c["status"] for c in ledger(client, "dac@example.com")] == ["succeeded"]


def test_js_error_adds_a_throwing_script_to_checkout_and_thank_you_only(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("js-error").base_url) as client:
        purchase = buy(client, "enamel-mug", "js@example.com")
        assert "shopAnalytics.track" in purchase.response.text
        assert "shopAnalytics.track" not in client.get("/").text


def test_the_ledger_needs_an_email(client: httpx.Client) -> None:
    assert client.get("/_test/ledger").status_code == 400


def test_checkout_asks_again_for_missing_details(client: httpx.Client) -> None:
    client.post("/cart/add", data={"product": "enamel-mug"})
    response = client.post("/checkout", data={"name": "Ada", "email": "", "address": ""})
    assert response.status_code == 200
    assert "Please enter your email, your address" in response.text


def test_the_cart_adds_counts_and_removes(client: httpx.Client) -> None:
    client.post("/cart/add", data={"product": "enamel-mug", "quantity": "2"})
    client.post("/cart/add", data={"product": "canvas-tote-bag"})
    assert client.get("/cart/count").json() == {"count": 3}
    assert "60.00 USD" in client.get("/cart").text
    client.post("/cart/remove", data={"product": "enamel-mug"})
    assert client.get("/cart/count").json() == {"count": 1}

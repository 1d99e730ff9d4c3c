"""The demo shop's real-world behaviours, each bought from in Chromium and then checked by the
login, delivery and email checks through the real runner: signed download tokens, an account whose
orders are on a second page, and mail handed to SMTP with bare LF line ends and a long line. A
healthy shop with any of them gives no finding; what the checks must still catch, they catch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from auditor.demo import DemoShop, parse_faults
from auditor.mail import MailSink
from auditor.results import RunResult, Status
from auditor.store import Store
from tests.flows import Audit, Shops

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHECKOUT = {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"]}
SIGNED = "/downloads/"
EMAIL = {"kind": "email", "needs": ["checkout"], "deadline_s": 15, "settle_s": 0, "ignore_links": [SIGNED]}
LOGIN = {"kind": "login", "needs": ["checkout"], "download_pattern": SIGNED}
DELIVERY = {"kind": "delivery", "needs": ["checkout", "email", "login"], "link_pattern": SIGNED}
ALL = {"checkout": CHECKOUT, "email": EMAIL, "login": LOGIN, "delivery": DELIVERY}
# value (base64url JSON) : timestamp (base62) : signature (base64url), as Django's signing writes it.
SIGNED_LINK = re.compile(r"/downloads/eyJ[A-Za-z0-9_-]+:[0-9A-Za-z]+:[A-Za-z0-9_-]{43}/$")


def check(run: RunResult, name: str) -> Any:
    (result,) = [c for c in run.checks if c.name == name]
    return result


def statuses(run: RunResult) -> list[tuple[str, Status, str | None]]:
    return [(c.name, c.derived_status(), c.message) for c in run.checks]


async def test_signed_download_links_differ_per_order_and_are_delivered(shops: Shops, audit: Audit) -> None:
    shop = shops("downloads=signed")
    first = await audit(shop, ALL, ["delivery"])
    second = await audit(shop, ALL, ["delivery"])
    for run in (first, second):
        assert [s for _, s, _ in statuses(run)] == [Status.PASS] * 4, statuses(run)
        assert run.findings == []
    links = [check(run, "delivery").outputs["links"] for run in (first, second)]
    (one,), (other,) = links
    assert one["found_in"] == ["thank-you page", "email", "account page"]
    assert SIGNED_LINK.search(one["url"]) and SIGNED_LINK.search(other["url"])
    assert one["url"] != other["url"]
    async with httpx.AsyncClient() as client:
        assert (await client.get(one["url"])).status_code == 200
        tampered = one["url"][:-3] + ("A" if one["url"][-3] != "A" else "B") + one["url"][-2:]
        assert (await client.get(tampered)).status_code == 404
        # A token signed by another shop (another key) does not open this one's file.
        elsewhere = shops("downloads=signed", "merge-tag").base_url
        assert (await client.get(elsewhere + one["url"].split(shop.base_url, 1)[1])).status_code == 404


async def test_a_dead_signed_download_is_one_finding_with_its_token_masked(
    shops: Shops, audit: Audit
) -> None:
    shop = shops("downloads=signed", "dead-download")
    run = await audit(shop, ALL, ["delivery"])
    (broken,) = [f for c in run.checks for f in c.findings]
    assert broken.kind == "delivery_link_broken"
    assert broken.url == shop.base_url + "/downloads/{token}/"
    assert "thank-you page and email and account page" in broken.message


async def test_orders_on_a_second_account_page_are_found_there(shops: Shops, audit: Audit) -> None:
    run = await audit(
        shops("account=orders-page"), ALL | {"login": {"kind": "login", "needs": ["checkout"]}}, ["login"]
    )
    assert statuses(run) == [("checkout", Status.PASS, None), ("login", Status.PASS, None)]
    login = check(run, "login")
    assert login.stats["searched_pages"] == 2
    assert login.stats["account_pages"] == 2
    (download,) = login.outputs["account_download_links"]
    assert "/download/" in download


async def test_a_purchase_on_no_account_page_names_every_page_searched(shops: Shops, audit: Audit) -> None:
    shop = shops("account=orders-page")
    login = {
        "kind": "login",
        "needs": ["checkout"],
        "expect_in_account": ["{order_number}", "A product nobody sells"],
    }
    run = await audit(shop, {"checkout": CHECKOUT, "login": login}, ["login"])
    (missing,) = check(run, "login").findings
    assert missing.kind == "purchase_not_in_account"
    assert missing.evidence["missing"] == ["A product nobody sells"]
    assert missing.evidence["searched"] == [shop.base_url + "/account", shop.base_url + "/account/orders"]
    assert f"{shop.base_url}/account, {shop.base_url}/account/orders" in missing.message


async def test_mail_sent_with_bare_lf_and_a_long_line_passes_the_email_checks(
    shops: Shops, audit: Audit, store: Store
) -> None:
    checks = ALL | {
        "email": {**EMAIL, "ignore_links": ["/download/"]},
        "login": {"kind": "login", "needs": ["checkout"]},
        "delivery": {"kind": "delivery", "needs": ["checkout", "email", "login"]},
    }
    run = await audit(shops("smtp=bare-lf"), checks, ["delivery"])
    assert [s for _, s, _ in statuses(run)] == [Status.PASS] * 4, statuses(run)
    assert run.findings == []
    customer = check(run, "checkout").outputs["customer"]["email"]
    stored = store.mail_for(customer)
    assert len(stored) == 2  # the order confirmation and the account email
    for mail in stored:
        # Bare LF line ends, as the shop wrote them (smtplib only ends the data with CRLF).
        assert b"\r\n" not in mail.raw.rstrip(b"\r\n")
        assert max(len(line) for line in mail.raw.split(b"\n")) > 1000


@pytest.fixture(scope="module")
def small_sink(store: Store) -> Iterator[MailSink]:
    """A sink that refuses anything over 2 KB: the demo's confirmation is bigger."""
    with MailSink(store, port=0, max_message_bytes=2000) as running:
        yield running


async def test_mail_the_sink_refuses_is_email_refused_not_a_silent_email_missing(
    audit: Audit, small_sink: MailSink
) -> None:
    shop = DemoShop(faults=parse_faults(["smtp=bare-lf"], environ={}), smtp_port=small_sink.port).start()
    try:
        checks = {"checkout": CHECKOUT, "email": {**EMAIL, "ignore_links": []}}
        run = await audit(shop, checks, ["email"], mailbox={"kind": "sink", "port": small_sink.port})
    finally:
        shop.stop()
    (refused,) = check(run, "email").findings
    assert refused.kind == "email_refused"
    assert "over the sink's limit of 2,000 bytes" in refused.message
    assert "max_message_mb" in refused.message
    assert refused.evidence["subjects"] == [
        f"Your Harbor & Pine order #{check(run, 'checkout').outputs['order_number']}"
    ]

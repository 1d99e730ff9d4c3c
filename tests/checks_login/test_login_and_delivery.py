"""The login and delivery checks run by the runner after a real purchase in Chromium, against the
real demo shop mailing the real SMTP sink: the healthy shop gives no finding, each fault exactly its own.

Who reports a dead download: the `delivery` check, once per link (from wherever the customer got
it). The login check's account crawl leaves delivery links to it and reports the account area's
other dead links; the email check is told to ignore download links for the same reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.results import RunResult, Status
from tests.flows import Audit, Shops

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHECKOUT = {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"]}
EMAIL = {
    "kind": "email",
    "needs": ["checkout"],
    "deadline_s": 15,
    "settle_s": 0,
    "ignore_links": ["/download/"],
}
LOGIN = {"kind": "login", "needs": ["checkout"]}
DELIVERY = {"kind": "delivery", "needs": ["checkout", "email", "login"]}
ALL = {"checkout": CHECKOUT, "email": EMAIL, "login": LOGIN, "delivery": DELIVERY}


def check(run: RunResult, name: str) -> Any:
    (result,) = [c for c in run.checks if c.name == name]
    return result


def kinds(run: RunResult, *names: str) -> list[str]:
    return sorted(f.kind for n in names for f in check(run, n).findings)


async def test_a_healthy_shop_logs_in_finds_the_order_and_delivers_the_file(
    shops: Shops, audit: Audit
) -> None:
    run = await audit(shops(), ALL, ["delivery"])
    assert [(c.name, c.derived_status(), c.message) for c in run.checks] == [
        ("checkout", Status.PASS, None),
        ("email", Status.PASS, None),
        ("login", Status.PASS, None),
        ("delivery", Status.PASS, None),
    ]
    assert run.findings == []
    login = check(run, "login").outputs
    assert login["logged_in"] is True
    (download,) = login["account_download_links"]
    assert download.startswith(shops().base_url + "/download/")
    assert "session" not in repr(login) and "cookies" not in repr(login)
    (link,) = check(run, "delivery").outputs["links"]
    assert link["found_in"] == ["thank-you page", "email", "account page"]
    assert link["logged_in"]["status"] == link["anonymous"]["status"] == 200
    assert link["logged_in"]["content_type"] == "application/pdf"
    assert check(run, "login").stats["account_pages"] == 1


async def test_a_login_that_refuses_the_password_is_login_failed_with_the_pages_alert(
    shops: Shops, audit: Audit
) -> None:
    run = await audit(shops("login-broken"), {"checkout": CHECKOUT, "login": LOGIN}, ["login"])
    assert kinds(run, "checkout", "login") == ["login_failed"]
    (failed,) = check(run, "login").findings
    assert "Wrong email or password." in failed.message
    assert "See My account" in failed.message  # the scenario's failing step
    assert failed.evidence["alert"] == "Wrong email or password."
    assert check(run, "login").outputs == {"logged_in": False, "account_download_links": []}


async def test_a_dead_download_is_reported_once_by_delivery_with_every_place_it_was_given(
    shops: Shops, audit: Audit
) -> None:
    run = await audit(shops("dead-download"), ALL, ["delivery"])
    # The purchase scenario checks the thank-you page's links but leaves downloads to delivery.
    assert kinds(run, "checkout", "email", "login", "delivery") == ["delivery_link_broken"]
    (broken,) = check(run, "delivery").findings
    assert broken.url == shops("dead-download").base_url + "/download/{token}"
    assert "thank-you page and email and account page" in broken.message
    assert "HTTP 404" in broken.message
    assert check(run, "login").outputs["logged_in"] is True


async def test_a_generated_password_is_read_from_the_account_email(shops: Shops, audit: Audit) -> None:
    checks = {
        "checkout": {"kind": "scenario", "scenario": "generated-password", "paths": ["scenarios"]},
        "login": {"kind": "login", "needs": ["checkout"], "credentials": "email", "email_wait_s": 15},
        "delivery": {"kind": "delivery", "needs": ["checkout", "login"], "anonymous": "skip"},
    }
    run = await audit(shops(), checks, ["delivery"])
    assert [(c.name, c.derived_status(), c.message) for c in run.checks] == [
        ("checkout", Status.PASS, None),
        ("login", Status.PASS, None),
        ("delivery", Status.PASS, None),
    ]
    (link,) = check(run, "delivery").outputs["links"]
    assert set(link) == {"url", "found_in", "logged_in"}  # fetched with the session only
    password = check(run, "checkout").outputs["customer"]["password"]
    assert password not in repr(check(run, "login").outputs)


async def test_a_purchase_missing_from_the_account_is_reported(shops: Shops, audit: Audit) -> None:
    login = {**LOGIN, "expect_in_account": ["{order_number}", "A product nobody sells"]}
    run = await audit(shops(), {"checkout": CHECKOUT, "login": login}, ["login"])
    assert kinds(run, "checkout", "login") == ["purchase_not_in_account"]
    (missing,) = check(run, "login").findings
    assert missing.evidence["missing"] == ["A product nobody sells"]


async def test_a_declined_purchase_skips_login_and_delivery(shops: Shops, audit: Audit) -> None:
    checks = {
        "checkout": {"kind": "scenario", "scenario": "decline-then-approve", "paths": ["bundled"]},
        "login": LOGIN,
        "delivery": {"kind": "delivery", "needs": ["checkout", "login"]},
    }
    run = await audit(shops("declined-after-charge"), checks, ["delivery"])
    assert check(run, "login").derived_status() == Status.SKIP
    assert "declined" in check(run, "login").message
    assert check(run, "delivery").derived_status() == Status.SKIP
    assert kinds(run, "login", "delivery") == []


async def test_a_link_from_the_account_email_that_does_not_log_in_is_login_failed(
    shops: Shops, audit: Audit
) -> None:
    # The demo's account email links to the login form, which is not a magic link.
    login = {**LOGIN, "credentials": "email", "link_pattern": r"/login$", "email_wait_s": 15}
    run = await audit(shops(), {"checkout": CHECKOUT, "login": login}, ["login"])
    assert kinds(run, "checkout", "login") == ["login_failed"]
    (failed,) = check(run, "login").findings
    assert "opening the link from the account email" in failed.message
    assert failed.evidence["step"] == "open the account page"


async def test_a_download_anyone_can_fetch_is_unprotected_when_anonymous_is_denied(
    shops: Shops, audit: Audit
) -> None:
    checks = {**ALL, "delivery": {**DELIVERY, "anonymous": "denied"}}
    run = await audit(shops(), checks, ["delivery"])
    assert kinds(run, "checkout", "email", "login", "delivery") == ["delivery_link_unprotected"]

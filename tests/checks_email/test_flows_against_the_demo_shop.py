"""The email, contact-form and newsletter checks run by the runner after real scenarios in Chromium,
against the real demo shop mailing the real SMTP sink: each fault gives exactly its finding."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.results import RunResult, Severity, Status
from tests.flows import Audit, Shops

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHECKOUT = {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"]}
CONTACT = {"kind": "scenario", "scenario": "contact-form", "paths": ["bundled"]}
SIGNUP = {"kind": "scenario", "scenario": "newsletter-signup", "paths": ["bundled"]}
FAST = {"deadline_s": 15, "settle_s": 1}


def email_check(**options: Any) -> dict[str, dict[str, Any]]:
    return {"checkout": CHECKOUT, "email": {"kind": "email", "needs": ["checkout"], **FAST, **options}}


def check(run: RunResult, name: str) -> Any:
    (result,) = [c for c in run.checks if c.name == name]
    return result


def kinds(run: RunResult, name: str) -> list[str]:
    return sorted(f.kind for f in check(run, name).findings)


async def test_a_healthy_shop_gives_no_finding_in_any_email_check(shops: Shops, audit: Audit) -> None:
    checks = {
        **email_check(),
        "contact": CONTACT,
        "signup": SIGNUP,
        "autoresponse": {"kind": "contact-form", "needs": ["contact"], "deadline_s": 15},
        "newsletter": {"kind": "newsletter", "needs": ["signup"], "deadline_s": 15},
    }
    run = await audit(shops(), checks, ["email", "autoresponse", "newsletter"])
    assert [(c.name, c.derived_status(), c.message) for c in run.checks if c.kind != "scenario"] == [
        ("email", Status.PASS, None),
        ("autoresponse", Status.PASS, None),
        ("newsletter", Status.PASS, None),
    ]
    assert run.findings == []

    out = check(run, "email").outputs
    order = check(run, "checkout").outputs["order_number"]
    confirmation = out["messages"]["confirmation"]
    assert confirmation["subject"] == f"Your Harbor & Pine order #{order}"
    assert confirmation["count"] == 1 and 0 <= confirmation["latency_s"] < 15
    assert out["message_uids"] == confirmation["uids"]
    downloads = [link for link in confirmation["links"] if "/download/" in link["url"]]
    assert downloads and all(link["verdict"] == "ok" and link["status"] == 200 for link in downloads)

    newsletter = check(run, "newsletter").outputs
    assert newsletter["confirm_url"].startswith(shops().base_url + "/newsletter/confirm/")
    assert newsletter["welcome"]["subject"] == "Welcome to the Harbor & Pine newsletter"
    assert check(run, "autoresponse").outputs["autoresponse"]["subject"] == "We received your message"


async def test_it_reports_a_missing_confirmation(shops: Shops, audit: Audit) -> None:
    run = await audit(shops("no-email"), email_check(deadline_s=3), ["email"])
    assert kinds(run, "email") == ["email_missing"]
    (missing,) = check(run, "email").findings
    assert "Your Harbor & Pine account" in missing.message  # what did arrive is named
    assert check(run, "email").derived_status() == Status.FAIL


async def test_it_warns_about_a_late_confirmation(shops: Shops, audit: Audit) -> None:
    run = await audit(shops("slow-email=3"), email_check(soft_limit_s=1, hard_limit_s=60), ["email"])
    assert kinds(run, "email") == ["email_late"]
    (late,) = check(run, "email").findings
    assert late.severity == Severity.WARNING and late.evidence["latency_s"] >= 3
    assert check(run, "email").derived_status() == Status.WARN


async def test_it_reports_a_duplicate_confirmation(shops: Shops, audit: Audit) -> None:
    run = await audit(shops("duplicate-email"), email_check(), ["email"])
    assert kinds(run, "email") == ["email_duplicate"]
    assert check(run, "email").findings[0].evidence["count"] == 2


async def test_it_reports_an_unrendered_merge_tag(shops: Shops, audit: Audit) -> None:
    run = await audit(shops("merge-tag"), email_check(), ["email"])
    assert kinds(run, "email") == ["email_merge_tag"]
    (tag,) = check(run, "email").findings
    assert tag.evidence["token"] == "{{ first_name }}" and sorted(tag.evidence["parts"]) == ["html", "text"]


async def test_it_reports_a_dead_link_in_the_confirmation(shops: Shops, audit: Audit) -> None:
    shop = shops("email-dead-link")
    run = await audit(shop, email_check(), ["email"])
    assert kinds(run, "email") == ["email_broken_link"]
    (dead,) = check(run, "email").findings
    assert dead.url == f"{shop.base_url}/help/returns" and dead.evidence["status"] == 404
    assert "how returns work" in dead.message and "HTTP 404" in dead.message


async def test_it_reports_a_missing_contact_autoresponse(shops: Shops, audit: Audit) -> None:
    checks = {
        "contact": CONTACT,
        "autoresponse": {"kind": "contact-form", "needs": ["contact"], "deadline_s": 3},
    }
    run = await audit(shops("no-autoresponse"), checks, ["autoresponse"])
    assert kinds(run, "autoresponse") == ["autoresponse_missing"]


async def test_an_autoresponse_without_a_follow_up_promise_is_a_warning(shops: Shops, audit: Audit) -> None:
    options = {"follow_up": r"call you within \d+ minutes", "deadline_s": 15}
    checks = {"contact": CONTACT, "autoresponse": {"kind": "contact-form", "needs": ["contact"], **options}}
    run = await audit(shops(), checks, ["autoresponse"])
    assert kinds(run, "autoresponse") == ["autoresponse_no_follow_up"]
    assert check(run, "autoresponse").derived_status() == Status.WARN


async def test_configured_messages_with_body_patterns_are_all_awaited(shops: Shops, audit: Audit) -> None:
    messages = [
        {"name": "confirmation", "subject": r"order #{order_number}", "body": [r"Hi {first_name},"]},
        {"name": "account", "subject": "your .* account", "body": ["log in at"], "order_details": False},
        {"name": "survey", "subject": "how did we do", "required": False},
    ]
    run = await audit(shops(), email_check(messages=messages), ["email"])
    assert kinds(run, "email") == []
    out = check(run, "email").outputs["messages"]
    assert (out["confirmation"]["count"], out["account"]["count"], out["survey"]["count"]) == (1, 1, 0)


async def test_a_confirmation_email_without_the_confirmation_link_cannot_be_confirmed(
    shops: Shops, audit: Audit
) -> None:
    options = {"confirm_link": "/subscribe/verify/", "deadline_s": 15}
    checks = {"signup": SIGNUP, "newsletter": {"kind": "newsletter", "needs": ["signup"], **options}}
    run = await audit(shops(), checks, ["newsletter"])
    assert kinds(run, "newsletter") == ["email_broken_link"]
    (no_link,) = check(run, "newsletter").findings
    assert "has no link matching '/subscribe/verify/'" in no_link.message
    assert "welcome" not in check(run, "newsletter").outputs  # nothing was clicked, so none is awaited

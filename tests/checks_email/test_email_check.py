"""The email check's decisions that need no browser: when it skips, what it says is misconfigured,
and how it reads an order's number and total in a message."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from auditor.check import CheckContext
from auditor.checks.email import EmailCheck, EmailOptions, amounts, order_problems
from auditor.config import SiteConfig
from auditor.mail import parse_message
from auditor.results import Status

CUSTOMER = {"email": "audit+x@example.com", "name": "Ada Auditor", "first_name": "Ada", "password": ""}


class NoMailbox:
    async def mailbox(self) -> None:
        return None


def context(outputs: dict[str, dict[str, Any]]) -> CheckContext:
    site = SiteConfig(base_url="http://127.0.0.1:9")
    ctx = CheckContext("r1", "email", site, site.base_url, Path(), outputs=outputs)
    ctx.resources = NoMailbox()
    return ctx


@pytest.mark.asyncio
async def test_it_skips_when_the_payment_was_never_submitted() -> None:
    result = await EmailCheck("email", EmailOptions()).run(context({"checkout": {"customer": CUSTOMER}}))
    assert result.status == Status.SKIP
    assert result.message == "checkout never submitted a payment, so no order email is expected"


@pytest.mark.asyncio
async def test_it_says_how_to_configure_a_mailbox_when_the_site_has_none() -> None:
    paid = {"customer": CUSTOMER, "payment_submitted_at": datetime.now(UTC).isoformat(), "mail_cursor": {}}
    result = await EmailCheck("email", EmailOptions()).run(context({"checkout": paid}))
    assert result.status == Status.ERROR and "[sites.<site>.mailbox]" in (result.message or "")


@pytest.mark.asyncio
async def test_it_asks_which_scenario_when_several_have_a_customer() -> None:
    outputs = {"a": {"customer": CUSTOMER}, "b": {"customer": CUSTOMER}}
    result = await EmailCheck("email", EmailOptions()).run(context(outputs))
    assert result.status == Status.ERROR and "`scenario` option" in (result.message or "")


def test_bad_patterns_and_limits_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="bad regex"):
        EmailOptions.model_validate({"messages": [{"name": "x", "subject": "(unclosed"}]})
    with pytest.raises(ValidationError, match="soft_limit_s"):
        EmailOptions(soft_limit_s=700, hard_limit_s=600)


def test_it_reads_amounts_however_they_are_written() -> None:
    found = amounts("Total: $1,497.00 (was 1.497,00 EUR), 2 items")
    assert found == {Decimal("1497.00"), Decimal("2.00")}


def mail(body: str) -> Any:
    raw = f"From: shop@x.test\r\nTo: {CUSTOMER['email']}\r\nSubject: Your order\r\n\r\n{body}\r\n".encode()
    return parse_message(raw, datetime.now(UTC), "1")


def test_it_finds_a_wrong_order_number_or_total() -> None:
    assert order_problems(mail("Order #A1B2C3, total 497.00 USD"), "A1B2C3", "497.00") == []
    assert order_problems(mail("Order #A1B2C34, total 49.70 USD"), "A1B2C3", "497.00") == [
        "the order number A1B2C3",
        "the total 497.00",
    ]

"""The `stripe` ledger against a local fake of the Stripe endpoints it reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor import config
from auditor.config import SiteConfig
from auditor.errors import ConfigError
from auditor.ledger import LedgerError, StripeLedgerOptions
from auditor.ledger.base import Charge
from tests.crawl.site import serve
from tests.payment.buyer import Outputs, context, kinds, new_email, run_payment
from tests.payment.fake_stripe import KEY, FakeStripe

SITE = SiteConfig(base_url="http://127.0.0.1:9")


@pytest.fixture
def stripe() -> Iterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    with serve(fake.app()) as url:
        yield fake, url


def options(api_base: str, **more: object) -> StripeLedgerOptions:
    return StripeLedgerOptions.model_validate(
        {"kind": "stripe", "api_key": KEY, "api_base": api_base, **more}
    )


async def read(opts: StripeLedgerOptions, email: str, orders: list[str] | None = None) -> list[Charge]:
    async with opts.build(SITE, SITE.base_url) as ledger:
        return await ledger.charges(email, orders or [])


async def test_it_reads_every_page_of_a_customers_charges(stripe: tuple[FakeStripe, str]) -> None:
    fake, url = stripe
    email = new_email()
    cid = fake.customer(email)
    ids = {fake.charge(1000 + i, customer=cid) for i in range(5)}
    fake.charge(999, customer=fake.customer(new_email()))  # someone else's
    charges = await read(options(url), email)
    assert {c.id for c in charges} == ids
    assert fake.requests["/v1/charges"] == 3  # 5 charges, 2 a page
    assert all(c.currency == "USD" and c.email == email and c.created for c in charges)


async def test_an_uncaptured_charge_counts_and_a_failed_one_does_not(stripe: tuple[FakeStripe, str]) -> None:
    fake, url = stripe
    email = new_email()
    cid = fake.customer(email)
    held = fake.charge(49700, customer=cid, captured=False)
    fake.charge(49700, customer=cid, status="failed", captured=False)
    charges = {c.id: c for c in await read(options(url), email)}
    assert [c.id for c in charges.values() if c.succeeded] == [held]
    assert charges[held].captured is False


async def test_every_customer_with_the_email_is_read(stripe: tuple[FakeStripe, str]) -> None:
    fake, url = stripe
    email = new_email()
    customers = [fake.customer(email) for _ in range(3)]  # more than one page of customers
    ids = {fake.charge(500, customer=c) for c in customers}
    assert {c.id for c in await read(options(url), email)} == ids
    assert fake.requests["/v1/customers"] == 2


async def test_metadata_search_finds_a_guest_charge_once(stripe: tuple[FakeStripe, str]) -> None:
    fake, url = stripe
    email = new_email()
    cid = fake.customer(email)
    both = fake.charge(2400, customer=cid, metadata={"order_id": "A1B2"})
    guests = {fake.charge(2400, metadata={"order_id": "A1B2"}, email=email) for _ in range(3)}
    fake.charge(2400, metadata={"order_id": "OTHER"})
    charges = await read(options(url, metadata_key="order_id"), email, ["A1B2"])
    assert sorted(c.id for c in charges) == sorted({both, *guests})
    assert all(c.order == "A1B2" for c in charges)
    assert fake.requests["/v1/charges/search"] == 2  # 4 results, 2 a page


async def test_without_a_metadata_key_guest_charges_are_not_searched(stripe: tuple[FakeStripe, str]) -> None:
    fake, url = stripe
    fake.charge(2400, metadata={"order_id": "A1B2"})
    assert await read(options(url), new_email(), ["A1B2"]) == []
    assert fake.requests["/v1/charges/search"] == 0


async def test_a_rejected_key_is_an_infrastructure_error(stripe: tuple[FakeStripe, str]) -> None:
    _, url = stripe
    opts = options(url, api_key="rk_test_wrong")
    with pytest.raises(LedgerError, match=r"Stripe .* refused our credentials \(401\).*Invalid API Key") as e:
        await read(opts, new_email())
    assert "rk_test_wrong" not in str(e.value)


async def test_a_key_without_read_permission_is_an_infrastructure_error(
    stripe: tuple[FakeStripe, str],
) -> None:
    fake, url = stripe
    fake.fail_with = 403
    with pytest.raises(LedgerError, match=r"refused our credentials \(403\).*may read charges"):
        await read(options(url), new_email())


async def test_a_stripe_outage_is_an_infrastructure_error(stripe: tuple[FakeStripe, str]) -> None:
    fake, url = stripe
    fake.fail_with = 500
    with pytest.raises(LedgerError, match="answered 500: Something went wrong"):
        await read(options(url), new_email())


async def test_the_payment_check_reports_a_double_charge_held_at_stripe(
    stripe: tuple[FakeStripe, str], tmp_path: Path
) -> None:
    fake, url = stripe
    outputs = Outputs(new_email())
    outputs.data.update(
        order_number="A1B2",
        order_total="497.00",
        currency="USD",
        payment_attempts=[{"card_last4": "4242", "result": "approved", "message": "Thank you"}],
    )
    cid = fake.customer(outputs.email)
    fake.charge(49700, customer=cid, metadata={"order_id": "A1B2"})
    fake.charge(49700, metadata={"order_id": "A1B2"}, captured=False)  # a guest authorisation, held
    ledger = {"kind": "stripe", "api_key": KEY, "api_base": url, "metadata_key": "order_id"}
    result = await run_payment(context("http://127.0.0.1:9", tmp_path, checkout=outputs.data), ledger=ledger)
    assert kinds(result) == ["double_charge"]
    assert "charged 2 times" in result.findings[0].message


def test_a_live_secret_key_is_refused_with_what_to_use_instead() -> None:
    with pytest.raises(ValidationError, match="restricted key"):
        options("https://api.stripe.com", api_key="sk_live_abc123")


def test_the_stripe_key_comes_from_the_environment_and_stays_secret() -> None:
    data = {
        "sites": {"shop": {"base_url": "https://shop.example.com"}},
        "checks": {
            "buy": {"kind": "crawl"},
            "pay": {
                "kind": "payment",
                "needs": ["buy"],
                "ledger": {"kind": "stripe", "api_key": "${STRIPE_KEY}", "metadata_key": "order_id"},
            },
        },
        "audits": {"a": {"checks": ["pay"]}},
    }
    settings = config.from_dict(data, environ={"STRIPE_KEY": KEY})
    ledger = settings.checks["pay"].options.ledger  # type: ignore[attr-defined]
    assert ledger.api_key.get_secret_value() == KEY and KEY not in repr(ledger)
    assert settings.redact(f"key {KEY}") == "key **********"


def test_ledger_mistakes_are_reported_by_key_path() -> None:
    data = {
        "sites": {"shop": {"base_url": "https://shop.example.com"}},
        "checks": {
            "pay": {"kind": "payment", "ledger": {"kind": "stripe", "api_base": "ftp://x"}},
            "pay2": {"kind": "payment", "ledger": {"kind": "paypal"}},
            "pay3": {"kind": "payment", "ledger": {"kind": "http", "url": "{base_url}/ledger?e={mail}"}},
        },
        "audits": {"a": {"checks": ["pay", "pay2", "pay3"]}},
    }
    with pytest.raises(ConfigError) as e:
        config.from_dict(data, environ={})
    paths = {p.path for p in e.value.problems}
    assert {"checks.pay.ledger.stripe.api_key", "checks.pay.ledger.stripe.api_base"} <= paths
    assert "checks.pay2.ledger" in paths
    assert "checks.pay3.ledger.http.url" in paths
    assert "unknown placeholder(s) mail" in str(e.value)

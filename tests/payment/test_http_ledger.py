"""The `http` ledger against a loopback JSON endpoint shaped unlike the demo shop's, and the polling."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auditor.checks.payment import settle
from auditor.config import SiteConfig
from auditor.ledger import Charge, HttpLedgerOptions, LedgerError, LedgerFormatError
from tests.crawl.site import serve

PAYMENTS: dict[str, list[dict[str, Any]]] = {
    "A1": [
        {"ref": "p1", "money": {"cents": 2400, "currency": "eur"}, "state": "PAID", "meta": {"order": "A1"}},
        {"ref": "p2", "money": {"cents": 2400, "currency": "eur"}, "state": "AUTHORIZED", "captured": False},
        {"ref": "p3", "money": {"cents": 2400, "currency": "eur"}, "state": "DECLINED"},
    ],
    "B2": [{"ref": "p4", "money": {"cents": "1800", "currency": "eur"}, "state": "PAID"}],
    "BAD": [{"ref": "p5", "money": {"cents": "18.00", "currency": "eur"}, "state": "PAID"}],
}
SEEN: list[str] = []


async def payments(request: Request) -> Response:
    if request.headers.get("x-api-key") != "ledger-key" or request.headers.get("x-staging") != "let-me-in":
        return JSONResponse({"error": "bad key"}, status_code=401)
    SEEN.append(request.query_params["who"])
    return JSONResponse({"result": {"payments": PAYMENTS.get(request.path_params["order"], [])}})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(Starlette(routes=[Route("/api/orders/{order}/payments", payments)])) as url:
        yield url


MAPPING = {
    "url": "{base_url}/api/orders/{order}/payments?who={email}",
    "headers": {"X-Api-Key": "ledger-key"},
    "items_field": "result.payments",
    "id_field": "ref",
    "amount_field": "money.cents",
    "amount_unit": "minor",
    "currency_field": "money.currency",
    "status_field": "state",
    "succeeded_values": ["PAID", "AUTHORIZED"],
    "order_field": "meta.order",
}


async def read(base_url: str, orders: list[str], **options: Any) -> list[Charge]:
    site = SiteConfig(base_url=base_url, headers={"X-Staging": "let-me-in"})
    opts = HttpLedgerOptions.model_validate({**MAPPING, **options})
    async with opts.build(site, base_url) as ledger:
        return await ledger.charges("ada+run1@example.com", orders)


async def test_fields_are_read_through_the_mapping(base_url: str) -> None:
    SEEN.clear()
    charges = {c.id: c for c in await read(base_url, ["A1", "B2"])}
    assert sorted(charges) == ["p1", "p2", "p3", "p4"]
    assert [i for i, c in charges.items() if c.succeeded] == ["p1", "p2", "p4"]
    assert charges["p3"].status == "DECLINED"
    assert charges["p1"].order == "A1" and charges["p2"].order is None
    assert charges["p2"].captured is False and charges["p1"].captured is None
    assert charges["p4"].amount_minor == 1800 and charges["p4"].currency == "EUR"
    # One request per order; the email arrives intact, "+" and all; the site's own header was sent.
    assert SEEN == ["ada+run1@example.com", "ada+run1@example.com"]


async def test_a_decimal_string_amount_is_read_in_major_units(base_url: str) -> None:
    (charge,) = await read(base_url, ["BAD"], amount_unit=None)
    assert charge.amount_minor == 1800 and charge.amount_raw == "18.00"


async def test_a_decimal_amount_where_minor_units_are_configured_is_an_error_naming_the_option(
    base_url: str,
) -> None:
    with pytest.raises(LedgerFormatError, match=r"'18.00'.*amount_unit = \"major\""):
        await read(base_url, ["BAD"], amount_unit="minor")


async def test_a_refused_header_is_an_infrastructure_error(base_url: str) -> None:
    with pytest.raises(LedgerError, match=r"refused our credentials \(401\).*bad key"):
        await read(base_url, ["A1"], headers={"X-Api-Key": "wrong"})


def test_the_url_template_must_find_this_runs_charges() -> None:
    with pytest.raises(ValidationError, match=r"must contain \{email\} or \{order\}"):
        HttpLedgerOptions(url="{base_url}/ledger")
    with pytest.raises(ValidationError, match="unknown placeholder"):
        HttpLedgerOptions(url="{base_url}/ledger?email={customer}")


def charge(cid: str, status: str = "succeeded") -> Charge:
    return Charge(cid, 100, "USD", status, True, None, None, None)


async def test_a_charge_that_lands_while_the_ledger_settles_is_counted() -> None:
    reads = [[charge("a")], [charge("a")], [charge("a"), charge("b")]]

    async def ledger() -> list[Charge]:
        return reads.pop(0) if len(reads) > 1 else reads[0]

    charges = await settle(ledger, expect_charge=False, settle_s=0.5, wait_s=5)
    assert [c.id for c in charges] == ["a", "b"]


async def test_settling_stops_at_the_deadline_when_the_ledger_keeps_changing() -> None:
    count = 0

    async def ledger() -> list[Charge]:
        nonlocal count
        count += 1
        return [charge(str(i)) for i in range(count)]

    charges = await asyncio.wait_for(settle(ledger, expect_charge=False, settle_s=10, wait_s=0.6), 3)
    assert len(charges) == count >= 2

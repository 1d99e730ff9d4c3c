"""Helpers for payment check tests: purchases made over HTTP like a customer's browser makes them,
recorded as a purchase scenario's outputs (contract.md), and a CheckContext built by hand."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from auditor.check import CheckContext
from auditor.checks.payment import PaymentCheck, PaymentOptions
from auditor.config import SiteConfig
from auditor.demo import DemoShop
from auditor.results import CheckResult
from tests.demo.shopper import APPROVE, pay, place_order

# shops("double-submit") -> a running demo shop with those faults, shared by the test module.
Shops = Callable[..., DemoShop]


def new_email() -> str:
    """A customer email of its own per test, as every scenario run has."""
    return f"audit+{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Outputs:
    """A purchase scenario's outputs, filled in as the customer goes (contract.md)."""

    email: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data.update(
            scenario="guest-checkout",
            run_id="test-run",
            customer={"email": self.email, "name": "Ada Auditor", "first_name": "Ada", "password": "x"},
            payment_attempts=[],
        )


def card_last4(card: str) -> str:
    return card.replace(" ", "")[-4:]


def record(outputs: Outputs, client: httpx.Client, response: httpx.Response, card: str) -> None:
    """Record what the page said after one pay POST, as a scenario reads it off the page."""
    if response.is_redirect:
        response = client.get(response.headers["location"])
    tree = HTMLParser(response.text)
    alert = tree.css_first("p.alert[role=alert]")
    if response.url.path.startswith("/thank-you/"):
        result, message = "approved", "Thank you"
        outputs.data["thank_you_url"] = str(response.url)
        total = tree.css_first(".order-total")
        if total is not None:
            amount, _, currency = total.text(strip=True).partition(" ")
            outputs.data.update(order_total=amount, currency=currency)
    else:
        result, message = "declined", alert.text(strip=True) if alert else response.text[:80]
    outputs.data["payment_attempts"].append(
        {"card_last4": card_last4(card), "result": result, "message": message}
    )
    outputs.data["payment_result"], outputs.data["payment_message"] = result, message


def purchase(
    shop: DemoShop, *cards: str, slug: str = "the-complete-course", email: str | None = None
) -> Outputs:
    """Buy `slug` and press pay once per card, recording each answer like a purchase scenario."""
    outputs = Outputs(email or new_email())
    with httpx.Client(base_url=shop.base_url) as client:
        order = place_order(client, slug, outputs.email)
        outputs.data["order_number"] = order
        # What the customer is asked to pay, read off the pay page as the bundled scenarios do.
        total = HTMLParser(client.get("/pay", params={"order": order}).text).css(".summary .total span")
        amount, _, currency = total[-1].text(strip=True).partition(" ")
        outputs.data.update(order_total=amount, currency=currency)
        for card in cards or (APPROVE,):
            record(outputs, client, pay(client, order, card), card)
    return outputs


def context(base_url: str, tmp_path: Path, **outputs: dict[str, Any]) -> CheckContext:
    """A CheckContext like the runner builds, with these needed checks' outputs."""
    return CheckContext(
        run_id="test-run",
        name="payment",
        site=SiteConfig(base_url=base_url),
        base_url=base_url,
        report_dir=tmp_path,
        outputs=outputs,
    )


async def run_payment(ctx: CheckContext, **options: Any) -> CheckResult:
    """The payment check with these options (settle quickly: the demo ledger is never late)."""
    opts = PaymentOptions.model_validate({"settle_s": 0.2, "wait_s": 5, **options})
    return await PaymentCheck("payment", opts).run(ctx)


def kinds(result: CheckResult) -> list[str]:
    return sorted(f.kind for f in result.findings)

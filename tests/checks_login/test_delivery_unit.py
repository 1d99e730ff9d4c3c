"""The delivery check's decisions that need no shop: no links at all, nothing paid, no needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.check import CheckContext
from auditor.checks.delivery import DeliveryCheck, DeliveryOptions
from auditor.config import SiteConfig
from auditor.results import Status

CUSTOMER = {"email": "a@example.com", "name": "Ada Auditor", "first_name": "Ada", "password": "x"}


def ctx(outputs: dict[str, Any], tmp_path: Path) -> CheckContext:
    return CheckContext(
        run_id="r",
        name="delivery",
        site=SiteConfig(base_url="http://127.0.0.1:9"),
        base_url="http://127.0.0.1:9",
        report_dir=tmp_path,
        outputs=outputs,
    )


async def test_a_paid_purchase_without_any_download_link_is_delivery_link_missing(tmp_path: Path) -> None:
    out = {"checkout": {"customer": CUSTOMER, "payment_result": "approved", "download_links": []}}
    result = await DeliveryCheck("delivery", DeliveryOptions()).run(ctx(out, tmp_path))
    (missing,) = result.findings
    assert missing.kind == "delivery_link_missing" and "checkout" in missing.message


async def test_no_links_are_fine_when_none_are_expected(tmp_path: Path) -> None:
    out = {"checkout": {"customer": CUSTOMER, "payment_result": "approved"}}
    result = await DeliveryCheck("delivery", DeliveryOptions(expect_links=False)).run(ctx(out, tmp_path))
    assert result.findings == [] and result.derived_status() == Status.PASS


async def test_a_declined_purchase_expects_no_delivery(tmp_path: Path) -> None:
    out = {"checkout": {"customer": CUSTOMER, "payment_result": "declined"}}
    result = await DeliveryCheck("delivery", DeliveryOptions()).run(ctx(out, tmp_path))
    assert result.status == Status.SKIP and "declined" in (result.message or "")


async def test_without_needs_it_says_what_to_add(tmp_path: Path) -> None:
    result = await DeliveryCheck("delivery", DeliveryOptions()).run(ctx({}, tmp_path))
    assert result.status == Status.ERROR and "needs" in (result.message or "")

"""The demo shop's spring campaign in real Chromium: the healthy shop gives no finding, and each
campaign fault is caught by exactly its own finding; the coupon helper and the cart options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.campaign.coupon import apply_coupon
from auditor.campaign.demo import campaign_options
from auditor.demo import DemoShop, parse_faults
from auditor.demo.audit import CAUGHT_BY
from tests.campaign.conftest import kinds, of_kind, run_campaign
from tests.crawl.site import Site, serve

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


def options(**changes: Any) -> dict[str, Any]:
    opts = {k: v for k, v in campaign_options().items() if k not in ("kind", "timeout_s", "description")}
    return {**opts, **changes}


@pytest.fixture(scope="module")
def shops() -> Iterator[dict[str, str]]:
    started = {name: DemoShop(faults=parse_faults([name] if name else [])) for name in ("", *FAULTS)}
    for shop in started.values():
        shop.start()
    try:
        yield {name: shop.base_url for name, shop in started.items()}
    finally:
        for shop in started.values():
            shop.stop()


FAULTS = ("utm-stripped", "coupon-expired", "landing-noindex")


@pytest.mark.parametrize("fault", ["", *FAULTS])
async def test_each_fault_is_caught_by_exactly_its_finding(
    browser: Any, shops: dict[str, str], tmp_path: Path, fault: str
) -> None:
    r = await run_campaign(shops[fault], tmp_path, browser, **options())
    assert kinds(r) == (CAUGHT_BY[fault] if fault else set()), [f.message for f in r.findings]
    assert r.status is None


async def test_utm_stripped_is_seen_on_the_landing_url_and_in_the_email(
    browser: Any, shops: dict[str, str], tmp_path: Path
) -> None:
    base = shops["utm-stripped"]
    r = await run_campaign(base, tmp_path, browser, **options(coupon=None))
    lost = of_kind(r, "tracking_params_lost")
    # The ad's link (with gclid) and the email's link (utm_* only) both end without their params.
    assert {f.url.split("?")[0] for f in lost} == {base + "/go/spring"}
    assert sorted(len(f.evidence["lost"]) for f in lost) == [3, 4]
    assert any("gclid" in f.evidence["lost"] for f in lost)


async def test_a_promised_total_the_cart_does_not_give_is_a_price_mismatch(
    browser: Any, shops: dict[str, str], tmp_path: Path
) -> None:
    coupon = {**options()["coupon"], "expected_discount": None, "expected_total": "18.00"}
    r = await run_campaign(
        shops[""], tmp_path, browser, **options(landing_urls=[], email=None, coupon=coupon)
    )
    (f,) = r.findings
    assert f.kind == "price_mismatch"
    assert (f.evidence["before"], f.evidence["after"], f.evidence["expected"]) == ("24.00", "19.20", "18.00")


async def test_a_cart_without_a_coupon_field_rejects_the_coupon(
    browser: Any, shops: dict[str, str], tmp_path: Path
) -> None:
    coupon = {**options()["coupon"], "field": "#no-such-field"}
    r = await run_campaign(
        shops[""], tmp_path, browser, **options(landing_urls=[], email=None, coupon=coupon)
    )
    (f,) = r.findings
    assert f.kind == "coupon_rejected" and "no coupon field" in f.message


async def test_the_coupon_helper_in_a_scenario_like_page(browser: Any, shops: dict[str, str]) -> None:
    for fault, accepted in (("", True), ("coupon-expired", False)):
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(shops[fault] + "/products/enamel-mug")
            await page.click("#add-to-cart")
            await page.wait_for_url("**/cart")
            result = await apply_coupon(page, "SPRING20")
            assert result.accepted is accepted, result.describe()
            if not accepted:
                assert "expired" in result.message
            bad = await apply_coupon(page, "NOPE")
            assert not bad.accepted and "not valid" in bad.message
        finally:
            await context.close()


async def test_params_into_the_cart(browser: Any, shops: dict[str, str], tmp_path: Path) -> None:
    # The demo shop does not keep them: lost on the cart.
    r = await run_campaign(
        shops[""], tmp_path, browser, **options(coupon=None, email=None, params_in_cart=True, browser=False)
    )
    (f,) = r.findings
    assert f.kind == "tracking_params_lost" and f.key == "cart"
    # A shop that keeps them in a cookie.
    site = Site(
        pages={"/landing": "<p>Sale</p>", "/cart": "<p>Cart</p>"},
        headers={"/landing": {"Set-Cookie": "src=news; Path=/"}},
    )
    with serve(site.app) as base:
        r = await run_campaign(
            base,
            tmp_path,
            browser,
            landing_urls=["/landing?utm_source=news"],
            reachable=False,
            params_in_cart=True,
        )
    assert r.findings == []

"""The demo shop's rendered-crawl faults, caught by the demo's own `links` check in Chromium:
`js-dead-link` by exactly a broken_link, `third-party-script-error` by exactly a third-party
page_script_error, and the healthy shop (its JavaScript grid, lazy images, PayCo's widget) clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.demo import DemoShop
from auditor.demo.audit import CAUGHT_BY, demo_config
from auditor.demo.faults import parse_faults
from auditor.results import CheckResult, Severity
from tests.render.conftest import Resources, run_crawl

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def demo_links(browser: Any, tmp_path: Path, *faults: str) -> tuple[CheckResult, str, str]:
    """The demo audit's `links` check (its own options) against a demo shop with `faults`."""
    with DemoShop(faults=parse_faults(list(faults), environ={}), smtp_port=1) as shop:
        base = shop.base_url
        cfg = demo_config(base)
        skip = ("kind", "timeout_s", "description")
        opts = {k: v for k, v in cfg["checks"]["links"].items() if k not in skip}
        site = {k: v for k, v in cfg["sites"]["demo"].items() if k in ("crawl",)}
        result, _ = await run_crawl(base, tmp_path, Resources(browser), site=site, **opts)
        return result, base, shop.provider.base_url


async def test_the_healthy_demo_gives_no_finding_when_rendered(browser: Any, tmp_path: Path) -> None:
    result, _, _ = await demo_links(browser, tmp_path)
    assert [(f.kind, f.url) for f in result.findings] == []
    assert result.stats["rendered_pages"] >= 5
    # The About page's grid is filled by JavaScript: its links were found only by rendering.
    assert result.stats["rendered_links"] >= 3


async def test_js_dead_link_is_one_broken_link_only_the_rendered_dom_has(
    browser: Any, tmp_path: Path
) -> None:
    result, base, _ = await demo_links(browser, tmp_path, "js-dead-link")
    assert [(f.kind, f.url) for f in result.findings] == [("broken_link", f"{base}/products/trail-lantern")]
    assert result.findings[0].sources == [f"{base}/about"]
    assert {f.kind for f in result.findings} == CAUGHT_BY["js-dead-link"]


async def test_third_party_script_error_is_one_warning_named_by_the_providers_host(
    browser: Any, tmp_path: Path
) -> None:
    result, base, provider = await demo_links(browser, tmp_path, "third-party-script-error")
    assert [f.kind for f in result.findings] == ["page_script_error"]
    f = result.findings[0]
    host = provider.split("://", 1)[1]
    assert f.severity == Severity.WARNING and f.key.startswith(host) and host in f.message
    assert "merchant account disabled" in f.message
    assert set(f.sources) == {f"{base}/about", f"{base}/faq", f"{base}/terms"}
    assert {f.kind for f in result.findings} == CAUGHT_BY["third-party-script-error"]

"""Fixtures for the rendered crawl's tests: one real Chromium per module, and a crawl helper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from auditor.check import CheckContext
from auditor.checks.crawl import CrawlCheck, CrawlOptions
from auditor.config import SiteConfig
from auditor.errors import BrowserNotFound
from auditor.results import CheckResult, Finding
from tests.crawl.harness import FAST

# Rendering is slow on a loaded 2-core machine: a crawl that hangs still fails, well before pytest.
CRAWL_TIME_LIMIT_S = 120.0


def chromium_or_skip() -> str:
    from auditor.browser.locate import find_chromium

    try:
        return find_chromium().path
    except BrowserNotFound as e:
        pytest.skip(f"no Chromium: {str(e).splitlines()[0]}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    from auditor.browser.locate import LAUNCH_ARGS

    path = chromium_or_skip()
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            await b.close()


class Resources:
    """What the runner hands a check as `ctx.resources`: here, the module's browser."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    async def browser(self) -> Any:
        return self._browser


async def run_crawl(
    base: str, tmp_path: Path, resources: Any = None, site: dict[str, Any] | None = None, **options: Any
) -> tuple[CheckResult, list[Finding]]:
    """Run the `crawl` check (FAST limits, render on unless given) and return its result and
    what it streamed; every final finding must have been streamed."""
    emitted: list[Finding] = []
    ctx = CheckContext(
        run_id="t",
        name="links",
        site=SiteConfig(base_url=base, **(site or {})),
        base_url=base,
        report_dir=tmp_path,
        emit=emitted.append,
        resources=resources,
    )
    opts = {**FAST, "render": True, "render_settle_s": 2.0, **options}
    result = await asyncio.wait_for(CrawlCheck("links", CrawlOptions(**opts)).run(ctx), CRAWL_TIME_LIMIT_S)
    assert {(f.kind, f.url, f.key) for f in emitted} == {(f.kind, f.url, f.key) for f in result.findings}
    return result, emitted


def by_kind(result: CheckResult, kind: str) -> list[Finding]:
    return [f for f in result.findings if f.kind == kind]

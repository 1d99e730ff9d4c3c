"""Fixtures for the campaign check's tests: one real Chromium per module, and a run helper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from auditor.campaign.spec import CampaignOptions
from auditor.check import CheckContext
from auditor.checks.campaign import CampaignCheck
from auditor.config import SiteConfig
from auditor.results import CheckResult, Finding
from tests.render.conftest import Resources, chromium_or_skip

FAST_SITE = {"crawl": {"request_timeout_s": 5, "retries": 0}}


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


async def run_campaign(
    base: str, tmp_path: Path, chromium: Any = None, config_dir: Path | None = None, **options: Any
) -> CheckResult:
    """Run the `campaign` check; every final finding must have been streamed as it was made."""
    emitted: list[Finding] = []
    ctx = CheckContext(
        run_id="t",
        name="campaign",
        site=SiteConfig(base_url=base, **FAST_SITE),
        base_url=base,
        report_dir=tmp_path,
        emit=emitted.append,
        resources=Resources(chromium) if chromium is not None else None,
        config_dir=config_dir or tmp_path,
    )
    opts = CampaignOptions(**options)
    problems = CampaignCheck.config_problems(opts, ctx.config_dir)
    assert not problems, problems
    result = await asyncio.wait_for(CampaignCheck("campaign", opts).run(ctx), 120)
    assert [id(f) for f in emitted] == [id(f) for f in result.findings]
    return result


def kinds(result: CheckResult) -> set[str]:
    return {f.kind for f in result.findings}


def of_kind(result: CheckResult, kind: str) -> list[Finding]:
    return [f for f in result.findings if f.kind == kind]

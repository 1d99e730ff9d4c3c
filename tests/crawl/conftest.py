"""Fixtures for the crawler's tests: fast retries and a helper that runs one crawl."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.check import CheckContext
from auditor.checks.crawl import CrawlCheck, CrawlOptions
from auditor.config import SiteConfig
from auditor.results import Finding
from tests.crawl.harness import CRAWL_TIME_LIMIT_S, FAST, Crawl, CrawlFn


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the engine's retry backoff so retried requests do not slow the suite."""
    monkeypatch.setattr("auditor.crawl.fetch.BACKOFF_BASE_S", 0.01)


@pytest.fixture
def crawl(tmp_path: Path) -> CrawlFn:
    """Run the `crawl` check on a base URL with options (FAST limits unless overridden).

    `site` holds extra SiteConfig fields (headers, cookies, user_agent, crawl limits);
    `on_emit` sees each finding the moment the check streams it.
    """

    async def run(
        base: str,
        site: dict[str, Any] | None = None,
        on_emit: Callable[[Finding], None] | None = None,
        **options: Any,
    ) -> Crawl:
        emitted: list[Finding] = []

        def emit(finding: Finding) -> None:
            emitted.append(finding)
            if on_emit is not None:
                on_emit(finding)

        progress: list[dict[str, Any]] = []
        ctx = CheckContext(
            run_id="t",
            name="links",
            site=SiteConfig(base_url=base, **(site or {})),
            base_url=base,
            report_dir=tmp_path,
            emit=emit,
            progress=lambda **counters: progress.append(counters),
        )
        check = CrawlCheck("links", CrawlOptions(**{**FAST, **options}))
        result = await asyncio.wait_for(check.run(ctx), CRAWL_TIME_LIMIT_S)
        # Every final finding was streamed while crawling, so a killed run keeps it.
        assert {(f.kind, f.url, f.key) for f in emitted} == {(f.kind, f.url, f.key) for f in result.findings}
        return Crawl(result.findings, emitted, dict(result.stats), progress)

    return run

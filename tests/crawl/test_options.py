"""The check's options: validation, the site's limits as defaults, and politeness limits."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pydantic
import pytest

from auditor.check import CheckContext
from auditor.checks.crawl import CrawlCheck, CrawlOptions
from auditor.config import CrawlLimits, SiteConfig
from tests.crawl.harness import CrawlFn
from tests.crawl.site import Site, page, serve

PAUSED = [f"/pause/{i}" for i in range(8)]


def test_a_bad_regex_is_a_validation_error() -> None:
    with pytest.raises(pydantic.ValidationError, match="regex"):
        CrawlOptions(exclude=["("])
    with pytest.raises(pydantic.ValidationError, match="regex"):
        CrawlOptions(include=["[a-"])


def test_an_unknown_option_is_a_validation_error() -> None:
    with pytest.raises(pydantic.ValidationError):
        CrawlOptions.model_validate({"max_page": 3})


async def test_the_sites_crawl_limits_apply_when_options_leave_them_unset(tmp_path: Path) -> None:
    site = Site(pages={"/": page("/p1"), "/p1": page("/p2"), "/p2": page("/p3"), "/p3": page()})
    with serve(site.app) as base:
        ctx = CheckContext(
            run_id="t",
            name="links",
            site=SiteConfig(base_url=base, crawl=CrawlLimits(max_depth=1)),
            base_url=base,
            report_dir=tmp_path,
        )
        result = await CrawlCheck("links", CrawlOptions()).run(ctx)
        assert site.fetched("/p1") == 1
        assert site.fetched("/p2") == 0
        # An option overrides the site's limit.
        await CrawlCheck("links", CrawlOptions(max_depth=3)).run(ctx)
        assert site.fetched("/p3") == 1
    assert {f.kind for f in result.findings} == {"crawl_incomplete"}
    assert result.findings[0].evidence["by_reason"] == {"max_depth=1 reached": 1}


async def test_per_host_concurrency_bounds_requests_in_flight(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page(*PAUSED)})
    with serve(site.app) as base:
        await crawl(base, per_host_concurrency=2, concurrency=16)
    assert site.peak_in_flight == 2


async def test_concurrency_bounds_requests_in_flight_across_hosts(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page(*PAUSED)})
    with serve(site.app) as base:
        await crawl(base, per_host_concurrency=8, concurrency=3)
    assert site.peak_in_flight == 3


async def test_delay_s_spaces_requests_to_one_host(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/a", "/b", "/c")})
    with serve(site.app) as base:
        await crawl(base, delay_s=0.2, sitemap=False, respect_robots=False)
    starts = sorted(t for times in site.times.values() for t in times)
    assert len(starts) == 4
    # Measured where the server receives them, so allow for scheduling jitter on a busy machine;
    # without the delay the four requests arrive within a few milliseconds.
    assert starts[-1] - starts[0] >= 0.5
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.1


async def test_site_secrets_go_only_to_the_site_and_never_into_findings(crawl: CrawlFn) -> None:
    ext = Site()
    with serve(ext.app) as other:
        site = Site(pages={"/": page("/status/404", f"{other}/status/404")})
        with serve(site.app) as base:
            secrets = {"headers": {"X-Token": "hdr-s3cret"}, "cookies": {"session": "ck-s3cret"}}
            result = await crawl(base, site={**secrets, "user_agent": "auditor-test/1.0"})
    assert result.found == {("broken_link", f"{base}/status/404"), ("broken_link", f"{other}/status/404")}
    assert "hdr-s3cret" in site.secrets_seen
    assert any("ck-s3cret" in seen for seen in site.secrets_seen)
    assert ext.secrets_seen == []
    assert site.user_agents == {"auditor-test/1.0"}
    for finding in result.findings:
        assert "s3cret" not in repr(finding)


async def test_max_duration_s_ends_an_endless_crawl(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/calendar?month=0")})
    with serve(site.app) as base:
        started = time.monotonic()
        # No depth bound either: a fast crawl of the endless calendar must be cut by the clock.
        result = await crawl(
            base, max_duration_s=0.5, max_urls_per_path=100_000, max_depth=100_000, delay_s=0.01
        )
    assert time.monotonic() - started < 5
    assert result.found == {("crawl_incomplete", f"{base}/")}
    incomplete = result.one("crawl_incomplete", f"{base}/")
    assert set(incomplete.evidence["by_reason"]) == {"max_duration_s=0.5 reached"}
    assert incomplete.evidence["not_visited"] == result.stats["deadline_skipped"] >= 1
    assert result.stats["pages"] >= 2


async def test_every_start_path_is_crawled(crawl: CrawlFn) -> None:
    site = Site(pages={"/": page("/a"), "/a": page(), "/landing": page("/status/404")})
    with serve(site.app) as base:
        result = await crawl(base, start_paths=["/", "/landing"])
    assert result.found == {("broken_link", f"{base}/status/404")}
    assert result.one("broken_link", f"{base}/status/404").source == f"{base}/landing"

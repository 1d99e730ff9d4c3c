"""Start where the user points: the start URL's path, and `scope` keeping the crawl under it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.crawl.harness import CrawlFn
from tests.crawl.site import Site, page, serve

SHOP = {
    "/": page("/status/404?from=home", "/landing/spring-sale"),
    "/landing/spring-sale": page("/landing/spring-sale/terms", "/about", "/status/410?from=sale"),
    "/landing/spring-sale/terms": page("/status/404?from=terms"),
    "/about": page("/status/404?from=about"),
}


async def test_a_crawl_starts_at_the_path_of_its_start_url_not_at_the_root(crawl: CrawlFn) -> None:
    site = Site(pages=dict(SHOP))
    with serve(site.app) as base:
        result = await crawl(f"{base}/landing/spring-sale")
    # The host is the scope: /about is crawled too; the home page is never reached.
    assert result.found == {
        ("broken_link", f"{base}/status/410?from=sale"),
        ("broken_link", f"{base}/status/404?from=terms"),
        ("broken_link", f"{base}/status/404?from=about"),
    }
    assert site.fetched("/") == 0


async def test_scope_path_keeps_the_crawl_under_the_start_urls_folder(crawl: CrawlFn) -> None:
    site = Site(pages=dict(SHOP))
    with serve(site.app) as base:
        result = await crawl(f"{base}/landing/spring-sale", scope="path")
    # /about is outside /landing/: it is checked (it works) but its links are not followed.
    assert result.found == {
        ("broken_link", f"{base}/status/410?from=sale"),
        ("broken_link", f"{base}/status/404?from=terms"),
    }
    assert site.fetched("/about") == 1
    assert site.fetched("/status/404?from=about") == 0


async def test_scope_path_follows_a_start_url_that_redirects_into_its_folder(crawl: CrawlFn) -> None:
    pages = {
        "/docs/": page("/docs/a", "/blog/"),
        "/docs/a": page("/status/404"),
        "/blog/": page("/status/410"),
    }
    site = Site(pages=pages)
    with serve(site.app) as base:
        result = await crawl(f"{base}/to?url=/docs/", scope="path")
    assert result.found == {("broken_link", f"{base}/status/404")}
    assert site.fetched("/status/410") == 0


async def test_start_paths_in_the_config_still_name_the_start_pages(crawl: CrawlFn) -> None:
    site = Site(pages=dict(SHOP))
    with serve(site.app) as base:
        result = await crawl(f"{base}/landing/spring-sale", start_paths=["/"], scope="path")
    # Start at / with the path scope: the whole site is under "/".
    assert ("broken_link", f"{base}/status/404?from=home") in result.found
    assert ("broken_link", f"{base}/status/404?from=about") in result.found


def test_auditor_crawl_url_scope_path_crawls_only_under_the_given_page(tmp_path: Path) -> None:
    site = Site(pages=dict(SHOP))
    with serve(site.app) as base:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "crawl",
                f"{base}/landing/spring-sale",
                "--scope",
                "path",
                "--report-dir",
                "out",
                "--quiet",
                "--no-sitemap",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "CI": "true"},
        )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {(f["kind"], f["url"]) for f in report["findings"]} == {
        ("broken_link", f"{base}/status/410?from=sale"),
        ("broken_link", f"{base}/status/404?from=terms"),
    }
    assert site.fetched("/") == 0

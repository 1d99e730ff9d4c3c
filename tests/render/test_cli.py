"""`auditor crawl URL --render` end to end, in a fresh process, with and without a browser."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawl.site import Site, serve
from tests.render.conftest import chromium_or_skip

PAGE = (
    "<!doctype html><html><body><a href='/status/410'>static dead</a><div id='g'></div>"
    "<script>document.getElementById('g').innerHTML = '<a href=\"/status/404?via=js\">js</a>';</script>"
    "</body></html>"
)


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    site = Site(pages={"/": PAGE})
    with serve(site.app) as url:
        yield url


def crawl(url: str, cwd: Path, *flags: str, **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run(
        [sys.executable, "-m", "auditor", "crawl", url + "/", "--render", "--no-sitemap", "--format", "json",
         "--report-dir", "out", "--database-url", f"sqlite:///{cwd}/a.db", *flags],
        cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "CI": "true", **env},
    )  # fmt: skip
    report = json.loads(result.stdout)
    return result, {f["url"] for f in report["findings"]}


@pytest.mark.browser
def test_crawl_render_finds_the_link_only_javascript_inserts(shop: str, tmp_path: Path) -> None:
    chromium_or_skip()
    result, urls = crawl(shop, tmp_path)
    assert result.returncode == 1, result.stderr
    assert urls == {f"{shop}/status/410", f"{shop}/status/404?via=js"}


def test_crawl_render_without_a_browser_errors_and_keeps_the_http_findings(shop: str, tmp_path: Path) -> None:
    result, urls = crawl(shop, tmp_path, AUDITOR_CHROMIUM=str(tmp_path / "no-chromium"))
    assert urls == {f"{shop}/status/410"}
    assert "render = true" in result.stderr and "Install one of" in result.stderr
    assert result.returncode != 0

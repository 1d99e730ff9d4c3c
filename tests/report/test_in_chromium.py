"""report.html opened in real Chromium: no console errors, nothing fetched but the file itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.browser.launch import SharedBrowser
from auditor.results import CheckResult
from auditor.store import Store
from tests.alerts.runs import broken_link, check

from .test_history import day, finish
from .test_reproduce import scenario_failure


async def test_report_html_loads_in_chromium_without_errors_or_requests(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'history.db'}")
    root = tmp_path / "reports"
    try:
        for n in range(3):
            finish(store, day(n, check("crawl", broken_link("/gone")), root=root))
        scenario = CheckResult(name="guest-checkout", kind="scenario", findings=[scenario_failure(True)])
        today = day(3, check("crawl", broken_link("/gone"), broken_link("/new")), scenario, root=root)
        paths = finish(store, today)
    finally:
        store.close()
    shared = SharedBrowser()
    try:
        browser = await shared.get()
        page = await browser.new_page()
        problems: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        await page.goto(paths["html"].as_uri())
        await page.wait_for_load_state("load")
        assert await page.title() == "FAIL · nightly · demo"
        chart: Any = await page.get_by_role("img", name="The last 4 run(s) of nightly").count()
        assert chart == 1
        assert await page.locator("svg.runs-chart rect").count() == 4
        await page.fill("#filter", "/new")
        assert await page.locator(".finding:visible").count() == 1
        assert problems == []
        assert requests == [paths["html"].as_uri()]
    finally:
        await shared.close()

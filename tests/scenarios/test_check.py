"""The `scenario` check kind run by the runner: reports, artifacts, the run's one browser, skips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor import config
from auditor.browser.locate import find_chromium
from auditor.demo import DemoShop
from auditor.results import RunResult, RunStatus, Status
from auditor.runner import RunOptions, run_audit

StartShop = Callable[..., DemoShop]


def settings_for(
    tmp_path: Path, base_url: str, scenarios: list[str], *, browser: dict[str, Any] | None = None, **site: Any
) -> config.Settings:
    return config.from_dict(
        {
            "report_dir": str(tmp_path / "reports"),
            "browser": browser or {},
            "sites": {"shop": {"base_url": base_url, **site}},
            "checks": {n: {"kind": "scenario", "scenario": n, "paths": ["bundled"]} for n in scenarios},
            "audits": {"a": {"checks": scenarios}},
        },
        environ={},
    )


class Steps:
    """A progress display that only remembers the steps each check reported."""

    def __init__(self) -> None:
        self.steps: dict[str, list[str]] = {}

    def run_started(self, run: RunResult, checks: list[str]) -> None: ...
    def check_started(self, name: str, kind: str) -> None: ...
    def check_finished(self, result: Any) -> None: ...
    def run_finished(self, run: RunResult) -> None: ...

    def check_progress(self, name: str, counters: dict[str, Any]) -> None:
        self.steps.setdefault(name, []).append(counters["step"])


async def test_a_failed_scenario_is_a_failed_check_with_its_evidence_in_report_html(
    start_shop: StartShop, tmp_path: Path
) -> None:
    shop = start_shop("checkout-error")
    progress = Steps()
    run = await run_audit(
        settings_for(tmp_path, shop.base_url, ["guest-checkout"], allow_orders=True),
        "a",
        RunOptions(progress=progress),
    )
    (check,) = run.checks
    assert check.derived_status() == Status.FAIL
    assert check.message == (
        "guest-checkout failed at step 'Pay with the test card': "
        f"POST /pay answered HTTP 500 ({shop.base_url}/pay)"
    )
    # The pay step was reached: its payment mark is on record, so nothing buys again.
    assert check.stats == {"scenarios": 1, "steps": 4, "payment_submitted": 1, "payment_marks": 1}
    assert check.outputs["customer"]["email"] == f"audit+{run.id}-guest-checkout@example.com"
    assert progress.steps["guest-checkout"][-1] == "Pay with the test card"
    assert run.report_dir is not None
    folder = run.report_dir / "guest-checkout"
    assert {a.path for a in check.artifacts} == {
        folder / n for n in ("screenshot.png", "page.html", "console.json", "requests.json", "trace.zip")
    }
    html = (run.report_dir / "report.html").read_text()
    assert 'href="guest-checkout/trace.zip"' in html and 'src="guest-checkout/screenshot.png"' in html
    assert "scenario_failed" in (run.report_dir / "report.json").read_text()


async def test_every_scenario_of_a_run_shares_one_browser(healthy_shop: DemoShop, tmp_path: Path) -> None:
    log = tmp_path / "launches.log"
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f'#!/bin/sh\necho launched >> {log}\nexec {find_chromium().path} "$@"\n')
    wrapper.chmod(0o755)
    settings = settings_for(
        tmp_path,
        healthy_shop.base_url,
        ["contact-form", "newsletter-signup"],
        browser={"executable_path": str(wrapper)},
    )
    run = await run_audit(settings, "a", RunOptions())
    assert [c.derived_status() for c in run.checks] == [Status.PASS, Status.PASS]
    assert log.read_text() == "launched\n"


async def test_no_browser_is_an_error_that_says_what_to_install(
    healthy_shop: DemoShop, tmp_path: Path
) -> None:
    settings = settings_for(
        tmp_path, healthy_shop.base_url, ["contact-form"], browser={"executable_path": str(tmp_path / "nope")}
    )
    run = await run_audit(settings, "a", RunOptions())
    (check,) = run.checks
    assert check.status == Status.ERROR
    assert check.message is not None and "does not exist or is not executable" in check.message
    assert "apt-get install chromium" in check.message and "playwright install chromium" in check.message


async def test_an_order_scenario_is_skipped_without_allow_orders_and_looks_for_no_browser(
    tmp_path: Path,
) -> None:
    missing = {"executable_path": str(tmp_path / "nope")}
    run = await run_audit(
        settings_for(tmp_path, "http://127.0.0.1:9", ["guest-checkout"], browser=missing), "a"
    )
    (check,) = run.checks
    assert check.status == Status.SKIP
    assert check.message == "places an order; set allow_orders = true on site 'shop' to run it"
    assert run.status == RunStatus.PASS  # nothing was found wrong


def test_the_environment_variable_names_the_browser_too(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("AUDITOR_CHROMIUM", str(tmp_path / "missing-chrome"))
    from auditor.errors import BrowserNotFound

    try:
        find_chromium()
    except BrowserNotFound as e:
        assert "missing-chrome" in str(e)
    else:
        raise AssertionError("a missing $AUDITOR_CHROMIUM was accepted")

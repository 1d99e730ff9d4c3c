"""run_scenario in a real Chromium against a tiny loopback site: steps, limits, warnings, artifacts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from auditor import scenario
from auditor.results import Status

from .conftest import Route, RunScenario, TinySite

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAGE = "<!doctype html><title>ok</title><h1>Hello</h1>"


@pytest.fixture
def site(tiny_site: TinySite) -> tuple[str, dict[str, Route]]:
    base, routes = tiny_site.base_url, tiny_site.routes
    routes.clear()
    tiny_site.seen.clear()
    routes["/"] = (200, "text/html", PAGE)
    routes["/favicon.ico"] = (200, "image/x-icon", "")
    return base, routes


@scenario("fails-at-b")
async def fails_at_b(page: Any, site: Any, outputs: dict[str, Any], step: Any) -> None:
    step("A")
    await page.goto(site.url("/"))
    outputs["seen"] = "hello"
    step("B")
    raise AssertionError("the total is wrong")


async def test_a_failure_names_the_step_and_keeps_outputs_and_evidence(
    run: RunScenario, site: tuple[str, dict[str, Route]], tmp_path: Path
) -> None:
    base, _ = site
    outcome = await run(fails_at_b, base)
    assert outcome.status == Status.FAIL
    assert outcome.failed_step == "B" and outcome.steps == ["A", "B"]
    assert outcome.message == "fails-at-b failed at step 'B': the total is wrong"
    assert outcome.outputs["seen"] == "hello" and outcome.outputs["scenario"] == "fails-at-b"
    (finding,) = outcome.findings
    assert (finding.kind, finding.severity, finding.key) == ("scenario_failed", "error", "B")
    assert finding.url == base + "/"
    assert "raise AssertionError" in finding.evidence["error"] and "test_run.py" in finding.evidence["error"]
    names = [a.name for a in outcome.artifacts]
    assert names == ["screenshot.png", "page.html", "console.json", "requests.json", "trace.zip"]
    folder = tmp_path / "artifacts"
    assert (folder / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    assert "<h1>Hello</h1>" in (folder / "page.html").read_text()
    requests = json.loads((folder / "requests.json").read_text())
    assert {
        "method": "GET",
        "url": base + "/",
        "status": 200,
        "resource_type": "document",
        "step": "A",
    } in requests
    assert (folder / "trace.zip").stat().st_size > 1000


@scenario("returns")
async def returns(page: Any, site: Any, customer: Any) -> dict[str, Any]:
    await page.goto(site.url("/"))
    return {"order_number": "A1B2C3", "email_seen": customer.email}


async def test_a_passing_scenario_merges_what_it_returns_and_keeps_no_trace(
    run: RunScenario, site: tuple[str, dict[str, Route]], tmp_path: Path
) -> None:
    outcome = await run(returns, site[0])
    assert outcome.status == Status.PASS and outcome.findings == [] and outcome.artifacts == []
    out = outcome.outputs
    assert out["order_number"] == "A1B2C3" and out["email_seen"] == out["customer"]["email"]
    assert out["run_id"] == "t1" and "payment_submitted_at" not in out
    assert not (tmp_path / "artifacts" / "trace.zip").exists()


@scenario("slow-step")
async def slow_step(step: Any) -> None:
    step("Wait for the slow thing")
    await asyncio.sleep(30)


async def test_a_step_over_its_time_limit_fails_saying_which_limit(run: RunScenario, site: Any) -> None:
    outcome = await run(slow_step, site[0], step_timeout_s=0.2)
    assert outcome.message == (
        "slow-step failed at step 'Wait for the slow thing': "
        "took longer than the step time limit (step_timeout_s) of 0.2 s"
    )


@scenario("many-steps")
async def many_steps(step: Any) -> None:
    for i in range(100):
        step(f"Step {i}")
        await asyncio.sleep(0.2)


async def test_a_scenario_over_its_time_limit_fails_saying_which_limit(run: RunScenario, site: Any) -> None:
    outcome = await run(many_steps, site[0], step_timeout_s=1, time_limit_s=1.0)
    assert outcome.failed_step in {"Step 3", "Step 4", "Step 5"}
    assert outcome.message is not None
    assert outcome.message.endswith("took longer than the scenario time limit (time_limit_s) of 1 s")


@scenario("block-step")
async def block_step(step: Any) -> None:
    async with step("Quick"):
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.5)  # no step is running: only the scenario's limit applies


async def test_a_step_used_as_a_block_ends_with_it(run: RunScenario, site: Any) -> None:
    outcome = await run(block_step, site[0], step_timeout_s=0.2)
    assert outcome.status == Status.PASS


@scenario("missing-button")
async def missing_button(page: Any, site: Any, step: Any) -> None:
    # The page is opened in a step of its own, so the click's step clock starts at the click: on a
    # busy machine a slow goto under the same clock left the step limit's grace shorter than
    # Playwright's answer took, and the step limit, not Playwright's timeout, ended the step.
    step("Open the page")
    await page.goto(site.url("/"))
    step("Click a button that is not there")
    await page.click("#no-such-button")


async def test_playwrights_timeout_is_the_step_limit_and_names_the_selector(
    run: RunScenario, site: Any
) -> None:
    outcome = await run(missing_button, site[0], step_timeout_s=1)
    assert outcome.failed_step == "Click a button that is not there"
    assert outcome.message is not None
    assert "Page.click: Timeout 1000ms exceeded." in outcome.message
    assert outcome.message.endswith("(the step time limit, step_timeout_s, is 1 s)")
    assert "#no-such-button" in (outcome.error or "")


@scenario("pays", places_order=True)
async def pays(step: Any) -> None:
    step("Fill the cart")
    async with step("Pay", submits_payment=True):
        pass
    step("Read the receipt")


async def test_a_payment_step_records_when_the_payment_was_submitted(run: RunScenario, site: Any) -> None:
    outcome = await run(pays, site[0])
    assert outcome.status == Status.PASS and outcome.payment_submitted
    assert outcome.outputs["payment_submitted_at"].endswith("+00:00")


async def test_a_scenario_that_places_orders_is_skipped_where_orders_are_not_allowed(
    run: RunScenario, site: Any
) -> None:
    outcome = await run(pays, site[0], allow_orders=False)
    assert outcome.status == Status.SKIP
    assert outcome.message == "places an order; set allow_orders = true on site 'site' to run it"
    assert outcome.steps == []


@scenario("visit")
async def visit(page: Any, site: Any, step: Any) -> None:
    step("Open the page")
    await page.goto(site.url("/"))
    await page.wait_for_load_state("networkidle")
    step("Look around")


NOISY = (
    '<!doctype html><h1>Hi</h1><img src="/missing.png" alt="">'
    '<script>console.error("tracker said no")</script>'
)


async def test_console_errors_and_failed_requests_are_warnings_on_a_passing_scenario(
    run: RunScenario, site: tuple[str, dict[str, Route]]
) -> None:
    base, routes = site
    routes["/"] = (200, "text/html", NOISY)
    outcome = await run(visit, base)
    assert outcome.status == Status.WARN
    by_kind = {f.kind: f for f in outcome.findings}
    assert sorted(by_kind) == [
        "console_error",
        "failed_request",
    ]  # not the console's "Failed to load resource"
    console = by_kind["console_error"]
    assert console.severity == "warning" and console.message == f"console error on {base}/: tracker said no"
    failed = by_kind["failed_request"]
    assert failed.url == f"{base}/missing.png" and failed.source == f"{base}/"
    assert failed.message == f"image {base}/missing.png answered HTTP 404 (on {base}/)"
    assert failed.evidence["step"] == "Open the page"


async def test_ignored_console_errors_and_requests_are_not_reported(
    run: RunScenario, site: tuple[str, dict[str, Route]]
) -> None:
    base, routes = site
    routes["/"] = (200, "text/html", NOISY)
    outcome = await run(visit, base, ignore_console=["^tracker"], ignore_requests=[r"/missing\.png$"])
    assert outcome.status == Status.PASS and outcome.findings == []


THROWS = "<!doctype html><h1>Hi</h1><script>window.analytics.track('x')</script>"


async def test_an_uncaught_page_error_fails_the_scenario_at_its_step(
    run: RunScenario, site: tuple[str, dict[str, Route]]
) -> None:
    base, routes = site
    routes["/"] = (200, "text/html", THROWS)
    outcome = await run(visit, base)
    assert outcome.status == Status.FAIL and outcome.failed_step == "Open the page"
    assert outcome.message == (
        f"visit failed at step 'Open the page': uncaught error on the page {base}/: "
        "TypeError: Cannot read properties of undefined (reading 'track')"
    )


async def test_a_page_error_is_a_warning_when_fail_on_page_error_is_off(
    run: RunScenario, site: tuple[str, dict[str, Route]]
) -> None:
    base, routes = site
    routes["/"] = (200, "text/html", THROWS)
    outcome = await run(visit, base, fail_on_page_error=False)
    assert outcome.status == Status.WARN
    (finding,) = outcome.findings
    assert finding.kind == "console_error" and "reading 'track'" in finding.message


@scenario("keeps-files")
async def keeps_files(page: Any, site: Any, artifacts: Any) -> None:
    await page.goto(site.url("/"))
    await artifacts.screenshot("home")
    artifacts.save_text("prices.txt", "24.00 USD")


async def test_files_a_scenario_keeps_are_listed_and_trace_always_keeps_the_trace(
    run: RunScenario, site: Any, tmp_path: Path
) -> None:
    outcome = await run(keeps_files, site[0], trace="always", viewport="390x844")
    assert outcome.status == Status.PASS
    assert [(a.name, a.kind) for a in outcome.artifacts] == [
        ("home.png", "screenshot"),
        ("prices.txt", "text"),
        ("trace.zip", "trace"),
    ]
    assert (tmp_path / "artifacts" / "prices.txt").read_text() == "24.00 USD"


async def test_trace_off_keeps_no_trace_even_on_failure(run: RunScenario, site: Any) -> None:
    outcome = await run(fails_at_b, site[0], trace="off")
    assert outcome.status == Status.FAIL
    assert "trace.zip" not in [a.name for a in outcome.artifacts]


@scenario("returns-a-list")
async def returns_a_list() -> list[str]:
    return ["x"]


async def test_returning_something_other_than_a_dict_is_a_failure(run: RunScenario, site: Any) -> None:
    outcome = await run(returns_a_list, site[0])
    assert outcome.message == (
        "returns-a-list failed at step '(before the first step)': "
        "TypeError: the scenario returned a list; return a dict of outputs or None"
    )


async def test_the_sites_headers_and_cookies_are_sent_by_the_browser(
    run: RunScenario, site: tuple[str, dict[str, Route]], tiny_site: TinySite
) -> None:
    base, routes = site
    routes["/"] = (200, "text/html", '<!doctype html><img src="http://localhost:1/x.png" alt="">')
    access = {"headers": {"X-Preview-Key": "k-123"}, "cookies": {"preview": "yes"}}
    outcome = await run(visit, base, site=access)
    assert outcome.status == Status.WARN  # the image on the closed port
    path, headers = tiny_site.seen[0]
    assert path == "/" and headers["X-Preview-Key"] == "k-123" and headers["Cookie"] == "preview=yes"


LATE = (
    "<!doctype html><script>setTimeout(() => document.body.append("
    "Object.assign(document.createElement('p'), {id: 'late', textContent: 'Here'})), 1200)</script>"
)


@scenario("long-step")
async def long_step(page: Any, site: Any, step: Any) -> None:
    step("Wait for the slow page", timeout_s=5)
    await page.goto(site.url("/"))
    await page.wait_for_selector("#late")  # Playwright's timeout follows the step's
    step("Click what is not there")
    await page.click("#nothing")


async def test_a_step_may_have_its_own_longer_limit(
    run: RunScenario, site: tuple[str, dict[str, Route]]
) -> None:
    base, routes = site
    routes["/"] = (200, "text/html", LATE)
    outcome = await run(long_step, base, step_timeout_s=0.5)
    assert outcome.failed_step == "Click what is not there", outcome.message  # 1.2 s were allowed
    assert outcome.message is not None and "Timeout 500ms exceeded" in outcome.message

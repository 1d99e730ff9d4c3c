"""run_scenario(): one scenario in a fresh browser context, under its time limits.

The scenario runs once. Nothing here retries: a retry after a payment was submitted could charge
a real card twice. A step with `submits_payment=True` is marked durably before it runs (through
the run's `auditor.store.marks.CURRENT`, when a runner runs the check), and `payment_submitted_at`
in the outputs says the same to whoever reads them.

Time limits: the scenario as a whole (`time_limit_s`) and each step (`step_timeout_s`, restarted by
every `step(...)`) share one `asyncio.timeout`, rescheduled to the nearer deadline whenever a step
starts or ends. An uncaught page error expires it at once, which is how it fails the scenario at
the step during which it happened.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.config import SiteConfig
from auditor.results import Artifact, Finding, Severity, Status
from auditor.scenarios.customer import Customer
from auditor.scenarios.fixtures import Artifacts, Site, StepRecord, Steps
from auditor.scenarios.options import ScenarioOptions
from auditor.scenarios.spec import ScenarioSpec
from auditor.scenarios.watch import PageError, PageWatcher
from auditor.store.marks import CURRENT

log = logging.getLogger("auditor.scenarios")

# Collecting a failed scenario's evidence must not hang on a page that hangs.
EVIDENCE_TIMEOUT_S = 15.0
# Playwright's own timeout (which names the selector it waited for) is the step limit; the step's
# deadline fires this much later, for what Playwright does not bound (sleeps, plain awaits).
STEP_GRACE_S = 1.0


@dataclass
class ScenarioOutcome:
    """What one scenario run gave: `status` pass / warn / fail / skip, and everything found."""

    status: Status
    outputs: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None
    message: str | None = None
    steps: list[str] = field(default_factory=list)

    @property
    def payment_submitted(self) -> bool:
        return "payment_submitted_at" in self.outputs


class _Limits:
    """The scenario's and the current step's deadlines, applied to one asyncio.Timeout."""

    def __init__(self, options: ScenarioOptions) -> None:
        self.loop = asyncio.get_running_loop()
        self.time_limit_s = options.time_limit_s
        self.scenario_deadline = self.loop.time() + options.time_limit_s
        self.step_limit_s: float | None = options.step_timeout_s
        self.step_deadline: float | None = self.scenario_deadline
        self.timeout: asyncio.Timeout | None = None
        self.page_error: PageError | None = None

    def bind(self, timeout: asyncio.Timeout) -> None:
        """Start the clocks: the scenario's own time starts with its function, not the browser's setup."""
        self.timeout = timeout
        self.scenario_deadline = self.loop.time() + self.time_limit_s
        self.start_step(self.step_limit_s or self.time_limit_s)

    def start_step(self, limit_s: float) -> None:
        self.step_limit_s = limit_s
        self.step_deadline = self.loop.time() + limit_s + STEP_GRACE_S
        self._apply()

    def end_step(self) -> None:
        self.step_limit_s = self.step_deadline = None
        self._apply()

    def fail_now(self, error: PageError) -> bool:
        """Fail the scenario at once; False when it is not running (or already failing)."""
        if self.timeout is None or self.page_error is not None:
            return False
        self.page_error = error
        self.timeout.reschedule(self.loop.time())
        return True

    def _apply(self) -> None:
        if self.timeout is None or self.page_error is not None:
            return
        deadlines = [self.scenario_deadline, *([self.step_deadline] if self.step_deadline else [])]
        self.timeout.reschedule(min(deadlines))

    def explain(self) -> str:
        """Why the timeout expired, for the failure message."""
        if self.page_error is not None:
            return f"uncaught error on the page {self.page_error.url}: {self.page_error.message}"
        if self.step_deadline is not None and self.step_deadline < self.scenario_deadline:
            return f"took longer than the step time limit (step_timeout_s) of {self.step_limit_s:g} s"
        return f"took longer than the scenario time limit (time_limit_s) of {self.time_limit_s:g} s"

    def close(self) -> None:
        self.timeout = None


async def run_scenario(
    spec: ScenarioSpec,
    *,
    browser: Any,
    site: SiteConfig,
    customer: Customer,
    options: ScenarioOptions,
    artifact_dir: Path,
    run_id: str,
    site_name: str = "site",
    progress: Any = None,
    context: Any = None,
) -> ScenarioOutcome:
    """Run `spec` once in a fresh context of `browser` (a playwright Browser) and say how it went.

    A `places_order` scenario on a site that does not allow orders is skipped. `progress(step)` is
    called with each step's name as it starts. The context is closed before returning, unless the
    caller passed its own `context` (the login check reads the session from it afterwards).
    """
    outputs: dict[str, Any] = {"scenario": spec.name, "run_id": run_id, "customer": customer.to_dict()}
    if spec.places_order and not site.allow_orders:
        return ScenarioOutcome(
            status=Status.SKIP,
            outputs=outputs,
            message=f"places an order; set allow_orders = true on site {site_name!r} to run it",
        )
    own = context is None
    if own:
        context = await browser.new_context(viewport=options.viewport_size(), base_url=site.base_url)
    try:
        return await _Run(
            spec, context, site, site_name, customer, options, artifact_dir, outputs, progress
        ).go()
    finally:
        if own:
            await context.close()


class _Run:
    def __init__(
        self,
        spec: ScenarioSpec,
        context: Any,
        site: SiteConfig,
        site_name: str,
        customer: Customer,
        options: ScenarioOptions,
        artifact_dir: Path,
        outputs: dict[str, Any],
        progress: Any,
    ) -> None:
        self.spec, self.context, self.site_config = spec, context, site
        self.site = Site.from_config(site_name, site)
        self.customer, self.options, self.outputs = customer, options, outputs
        self.artifacts = Artifacts(artifact_dir)
        self.progress = progress
        self.limits = _Limits(options)
        self.card = options.test_cards.card()
        self.steps = Steps(
            options.step_timeout_s, self._step_started, self._step_ended, on_payment=self._payment_step
        )
        self.watcher = PageWatcher(
            current_step=lambda: self.steps.current,
            on_page_error=self.limits.fail_now,
            fail_on_page_error=options.fail_on_page_error,
            ignore_console=options.ignore_console,
            ignore_requests=options.ignore_requests,
        )
        self.page: Any = None

    def _step_started(self, record: StepRecord, limit_s: float) -> None:
        self.limits.start_step(limit_s)
        self._playwright_timeout(limit_s)
        if self.progress:
            self.progress(record.name)

    def _payment_step(self, record: StepRecord) -> None:
        """Mark, durably, that this scenario may submit a payment now (before the step runs)."""
        marking = CURRENT.get()
        if marking is not None:
            marking.record(self.spec.name, record.name, self.customer.email)

    def _step_ended(self) -> None:
        self.limits.end_step()
        self._playwright_timeout(self.options.step_timeout_s)

    def _playwright_timeout(self, seconds: float) -> None:
        """Every click, fill and wait of Playwright is bounded by the current step's limit."""
        self.context.set_default_timeout(seconds * 1000)
        self.context.set_default_navigation_timeout(seconds * 1000)

    async def go(self) -> ScenarioOutcome:
        self._playwright_timeout(self.options.step_timeout_s)
        await apply_site_access(self.context, self.site_config)
        if self.options.trace != "off":
            # The screencast is what tracing costs most (bench/scenario_overhead): a trace kept only
            # on failure has the DOM snapshots of every action (the viewer renders them) and the
            # failure's own screenshot.png; `trace = "always"` records the screencast too.
            await self.context.tracing.start(
                screenshots=self.options.trace == "always", snapshots=True, title=self.spec.name
            )
        self.watcher.attach(self.context)
        self.page = await self.context.new_page()
        self.artifacts.page = self.page
        error = await self._call()
        if self.steps.payment_submitted_at is not None:
            self.outputs["payment_submitted_at"] = self.steps.payment_submitted_at.isoformat()
        outcome = ScenarioOutcome(
            status=Status.PASS, outputs=self.outputs, steps=[r.name for r in self.steps.records]
        )
        if error is not None:
            await self._fail(outcome, *error)
        await self._finish_trace(failed=error is not None)
        outcome.findings.extend(self.watcher.findings())
        outcome.artifacts = list(self.artifacts.saved)
        if outcome.status == Status.PASS and outcome.findings:
            outcome.status = Status.WARN
        return outcome

    async def _call(self) -> tuple[str, str] | None:
        """Run the scenario function; None if it succeeded, else (first line, full text) of the error."""
        fixtures = {
            "page": self.page,
            "context": self.context,
            "site": self.site,
            "customer": self.customer,
            "outputs": self.outputs,
            "step": self.steps,
            "card": self.card,
            "artifacts": self.artifacts,
        }
        kwargs = {name: fixtures[name] for name in self.spec.fixtures}
        timeout = asyncio.timeout(None)
        try:
            async with timeout:
                self.limits.bind(timeout)
                returned = await self.spec.func(**kwargs)
        except TimeoutError as e:
            if not timeout.expired():
                return _describe(e, self._step_limit_hint(e))
            why = self.limits.explain()
            return why, why
        except Exception as e:
            return _describe(e, self._step_limit_hint(e))
        finally:
            self.limits.close()
        if isinstance(returned, dict):
            self.outputs.update(returned)
        elif returned is not None:
            return _describe(
                TypeError(
                    f"the scenario returned a {type(returned).__name__}; return a dict of outputs or None"
                )
            )
        return None

    def _step_limit_hint(self, e: BaseException) -> str:
        # Playwright's own timeouts are the step time limit (its default timeout is set to it).
        if type(e).__name__ == "TimeoutError" and type(e).__module__.startswith("playwright"):
            limit = self.limits.step_limit_s or self.options.step_timeout_s
            return f" (the step time limit, step_timeout_s, is {limit:g} s)"
        return ""

    async def _fail(self, outcome: ScenarioOutcome, first: str, full: str) -> None:
        step = self.steps.current
        url = _page_url(self.page) or self.site.base_url
        outcome.status = Status.FAIL
        outcome.failed_step, outcome.error = step, full
        # Later checks read it: after a failed pay step, no confirmation email is to be expected.
        self.outputs["failed_step"] = step
        outcome.message = f"{self.spec.name} failed at step '{step}': {first}"
        outcome.findings.append(
            Finding(
                "scenario_failed",
                Severity.ERROR,
                url,
                outcome.message,
                evidence={
                    "scenario": self.spec.name,
                    "step": step,
                    "steps": outcome.steps,
                    "error": full,
                    "file": self.spec.where,
                    "payment_submitted": "payment_submitted_at" in self.outputs,
                    # The report's re-run command adds --allow-orders for such a scenario.
                    "places_order": self.spec.places_order,
                },
                key=step,
                # One incident per scenario and step, whatever order number the page's URL has.
                identity_url=self.site.base_url,
            )
        )
        await self._save_evidence()

    async def _save_evidence(self) -> None:
        """screenshot.png, page.html, console.json and requests.json of the failed scenario."""
        a = self.artifacts
        try:
            async with asyncio.timeout(EVIDENCE_TIMEOUT_S):
                await a.screenshot("screenshot.png")
        except Exception as e:
            log.warning("could not take the failure screenshot of %s: %s", self.spec.name, e)
        try:
            async with asyncio.timeout(EVIDENCE_TIMEOUT_S):
                a.save_text("page.html", await self.page.content())
        except Exception as e:
            log.warning("could not save the failed page of %s: %s", self.spec.name, e)
        for name, records in (
            ("console.json", self.watcher.console),
            ("requests.json", self.watcher.requests),
        ):
            path = a.save_text(name, json.dumps(records, indent=2, ensure_ascii=False, default=str))
            a.saved[-1] = Artifact(name=name, path=path, kind="json")

    async def _finish_trace(self, *, failed: bool) -> None:
        if self.options.trace == "off":
            return
        keep = failed or self.options.trace == "always"
        try:
            if keep:
                self.artifacts.dir.mkdir(parents=True, exist_ok=True)
                path = self.artifacts.dir / "trace.zip"
                await self.context.tracing.stop(path=str(path))
                self.artifacts.add("trace.zip", path, "trace")
            else:
                await self.context.tracing.stop()
        except Exception as e:
            log.warning("could not save the trace of %s: %s", self.spec.name, e)


def _describe(e: BaseException, hint: str = "") -> tuple[str, str]:
    """(first line, full traceback) of `e`. A failed assertion and a Playwright error (which names
    its API call: "Page.click: Timeout 30000ms exceeded.") read well as they are."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else ""
    if not first:
        first = type(e).__name__
    elif not (isinstance(e, AssertionError) or type(e).__module__.startswith("playwright")):
        first = f"{type(e).__name__}: {first}"
    return first + hint, "".join(traceback.format_exception(e)).strip()


def _page_url(page: Any) -> str | None:
    url = page.url if page is not None else None
    return url if url and url != "about:blank" else None


async def apply_site_access(context: Any, site: SiteConfig) -> None:
    """The site's configured cookies and headers, for its own hosts only (never a third party)."""
    scheme = urlsplit(site.base_url).scheme
    hosts = site.host_settings()
    cookies = [
        {"name": k, "value": v, "url": f"{scheme}://{host}/"}
        for host, hc in hosts.items()
        for k, v in hc.cookies.items()
    ]
    if cookies:
        await context.add_cookies(cookies)
    headers = {host: hc.headers for host, hc in hosts.items() if hc.headers}
    if headers:

        async def add_headers(route: Any) -> None:
            extra = headers.get(urlsplit(route.request.url).netloc.lower(), {})
            await route.continue_(headers={**route.request.headers, **extra})

        await context.route(lambda url: urlsplit(url).netloc.lower() in headers, add_headers)

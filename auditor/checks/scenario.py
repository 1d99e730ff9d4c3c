"""The `scenario` check kind: run one named scenario (a customer journey) in the run's Chromium.

A thin wrapper over `auditor.scenarios`: load the scenario from the configured folders, make a
fresh customer, run it with `run_scenario`, and turn the outcome into a CheckResult whose
outputs later checks (payment, email, login) read.

Secrets stay out of what is kept: the evidence is written to a private folder and only scrubbed
copies reach the report folder (`auditor.browser.evidence`), findings are scrubbed, and the
customer's password is in the outputs as `**********`, the real one kept in the run's in-memory
keyring for the login check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from auditor.browser.evidence import Evidence
from auditor.check import Check, CheckContext
from auditor.errors import Problem
from auditor.registry import register
from auditor.results import CheckResult, Status
from auditor.scenarios.customer import new_customer
from auditor.scenarios.loader import find
from auditor.scenarios.options import ScenarioOptions
from auditor.scenarios.run import run_scenario
from auditor.scenarios.spec import ScenarioLoadError
from auditor.scrub import Scrubber, keyring_of, without_password


@register
class ScenarioCheck(Check[ScenarioOptions]):
    """A scripted customer journey in a real browser: fails at the step that broke.

    Errors: scenario_failed. Warnings: console_error, failed_request.
    """

    kind = "scenario"
    Options = ScenarioOptions

    @classmethod
    def config_problems(cls, options: BaseModel, config_dir: Path) -> list[Problem]:
        """The scenario must exist and its folders must load, so `auditor validate` catches it."""
        assert isinstance(options, ScenarioOptions)
        try:
            find(options.scenario, options.paths, config_dir)
        except ScenarioLoadError as e:
            return [Problem("scenario", str(e))]
        return []

    @classmethod
    def places_order_for(cls, options: BaseModel, config_dir: Path) -> bool:
        """A scenario check places an order when its scenario says so (unknown: assume it does)."""
        assert isinstance(options, ScenarioOptions)
        try:
            return find(options.scenario, options.paths, config_dir).places_order
        except ScenarioLoadError:
            return True

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Run the scenario once (never retried: it may have submitted a payment)."""
        try:
            spec = find(self.options.scenario, self.options.paths, ctx.config_dir)
        except ScenarioLoadError as e:
            return CheckResult(status=Status.ERROR, message=str(e))
        customer = new_customer(
            ctx.site.customer_email, ctx.site.customer_name, run_id=ctx.run_id, scenario=spec.name
        )
        if spec.places_order and not ctx.site.allow_orders:
            browser = None  # a skipped scenario starts no browser
        else:
            browser = await ctx.resources.browser()
        # The mailbox position before anything is sent: the email checks read from here on, never
        # by date (IMAP's SINCE has day resolution). Opening the sink here also starts it in time.
        cursor: dict[str, Any] | None = None
        if browser is not None and (mailbox := await ctx.resources.mailbox()) is not None:
            cursor = (await mailbox.cursor()).to_dict()
        keyring = keyring_of(ctx.resources)
        keyring.remember_password(customer.email, customer.password)
        scrubber = Scrubber.for_site(ctx.site, {*keyring.values(), *self.options.test_cards.card().numbers})
        with Evidence(ctx.report_dir / ctx.name, scrubber) as evidence:
            outcome = await run_scenario(
                spec,
                browser=browser,
                site=ctx.site,
                site_name=ctx.site_name or "site",
                customer=customer,
                options=self.options,
                artifact_dir=evidence.dir,
                run_id=ctx.run_id,
                progress=lambda step: ctx.progress(step=step),
            )
            artifacts = await evidence.publish(outcome.artifacts)
        outputs = without_password(outcome.outputs)
        if cursor is not None:
            outputs["mail_cursor"] = cursor
        return CheckResult(
            status=Status.SKIP if outcome.status == Status.SKIP else None,
            findings=[scrubber.finding(f) for f in outcome.findings],
            outputs=outputs,
            artifacts=artifacts,
            message=scrubber.text(outcome.message) if outcome.message else outcome.message,
            stats={
                "scenarios": 1,
                "steps": len(outcome.steps),
                "payment_submitted": int(outcome.payment_submitted),
            },
        )

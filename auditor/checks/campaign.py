"""The `campaign` check kind: a marketing campaign's landing pages, coupon and email, before launch.

See docs/campaigns.md. The work is in `auditor.campaign.audit`; this module is its registration.

Errors: tracking_params_lost, landing_page_noindex, landing_page_broken, coupon_rejected,
price_mismatch, broken_link, broken_image, email_broken_link, email_merge_tag,
email_unsubscribe_missing (no link in the body), email_unsubscribe_broken, email_unreadable.
Warnings: email_spelling, landing_page_canonical, landing_page_unreachable, malformed_link,
email_unsubscribe_missing (no List-Unsubscribe header).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from auditor.campaign.spec import CampaignOptions
from auditor.check import Check, CheckContext
from auditor.errors import InfrastructureError, Problem
from auditor.registry import register
from auditor.results import CheckResult, Finding, Status


@register
class CampaignCheck(Check[CampaignOptions]):
    """Landing URLs keep their tracking parameters, load, are indexable; the coupon and the email work."""

    kind = "campaign"
    Options = CampaignOptions

    @classmethod
    def config_problems(cls, options: BaseModel, config_dir: Path) -> list[Problem]:
        from auditor.campaign import spelling

        assert isinstance(options, CampaignOptions)
        out: list[Problem] = []
        if not options.landing_urls and options.email is None and options.coupon is None:
            out.append(
                Problem("landing_urls", "a campaign needs landing_urls, an email or a coupon to check")
            )
        for key, value in (("email", options.email), ("words_file", options.words_file)):
            if value is not None and not (config_dir / value).is_file():
                out.append(Problem(key, f"no such file: {config_dir / value}"))
        if options.email is not None and options.spelling:
            problem = spelling.language_problem(options.language)
            if problem:
                out.append(Problem("language", problem))
        return out

    async def run(self, ctx: CheckContext) -> CheckResult:
        from auditor.browser.launch import SharedBrowser
        from auditor.campaign.audit import CampaignAudit

        findings: list[Finding] = []

        def emit(f: Finding) -> None:
            findings.append(f)
            ctx.emit(f)

        opts = self.options
        audit = CampaignAudit(ctx, opts, emit)
        own: SharedBrowser | None = None
        no_browser = ""
        if (opts.browser and opts.landing_urls) or opts.coupon is not None or opts.params_in_cart:
            try:
                if ctx.resources is not None:
                    audit.browser = await ctx.resources.browser()
                else:
                    own = SharedBrowser()
                    audit.browser = await own.get()
            except InfrastructureError as e:
                no_browser = str(e)
        try:
            await audit.landings()
            await audit.cart()
            if opts.email is not None:
                await audit.email(Path(ctx.config_dir) / opts.email)
        finally:
            if own is not None:
                await own.close()
        result = CheckResult(findings=findings, stats=audit.stats)
        if no_browser:
            result.status = Status.ERROR
            result.message = (
                f"The landing pages could not be loaded in a browser, nor the coupon tried: {no_browser}"
            )
        return result

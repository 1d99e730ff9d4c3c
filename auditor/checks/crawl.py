"""The `crawl` check kind: follow every link on the site and report the ones that are broken.

The crawler itself lives in `auditor.crawl` (frontier, fetch, extract, robots, sitemap, verdict,
engine); this module is its options and its registration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.check import Check, CheckContext
from auditor.config import DEFAULT_USER_AGENT, CrawlLimits, Regexes
from auditor.crawl.limits import CHAIN_HOPS, MAX_HOPS
from auditor.errors import InfrastructureError
from auditor.registry import register
from auditor.results import CheckResult, Status

if TYPE_CHECKING:
    from auditor.browser.launch import SharedBrowser

    # `render = true` only: an HTTP crawl never loads the rendering machinery
    from auditor.crawl.render import RenderSettings
    from auditor.crawl.render_hook import RenderHook


def load_crawler() -> None:
    """Import what a crawl runs with (aiohttp, the HTML and CSS parsers, robots.txt): done by the
    first crawl itself, or earlier by a caller with time to spare (`auditor crawl`, waiting for its
    database's process). Validating a config never loads it."""
    import auditor.crawl.engine
    import auditor.crawl.wire
    import auditor.http  # noqa: F401


class CrawlOptions(BaseModel):
    """What to crawl; every `CrawlLimits` field may be overridden (None means the site's value)."""

    model_config = ConfigDict(extra="forbid")

    # None: the base URL itself (`auditor crawl https://shop.example/landing/sale` starts there).
    start_paths: list[str] | None = None
    # "host": every page on the start URL's host; "path": only pages under the start URLs' folders.
    scope: Literal["host", "path"] = "host"
    # A redirect of this many hops or more is a redirect_chain warning (a permanent one always is).
    redirect_chain_hops: int = Field(CHAIN_HOPS, ge=1, le=MAX_HOPS)
    # Check links to other hosts (HEAD, then GET), never crawl them.
    external: bool = True
    # Check that the #fragments of internal links exist on their page.
    fragments: bool = True
    # Read the sitemaps: report dead sitemap URLs, orphan pages and pages missing from them.
    sitemap: bool = True
    # Regexes: crawl only internal URLs matching one of them.
    include: Regexes = []
    # Regexes: skip URLs matching one of them (verdict `excluded`).
    exclude: Regexes = []
    # Same bounds as `CrawlLimits`, so a bad override is reported at its own key path.
    max_pages: int | None = Field(None, ge=1)
    max_depth: int | None = Field(None, ge=0)
    max_duration_s: float | None = Field(None, gt=0)
    concurrency: int | None = Field(None, ge=1, le=512)
    per_host_concurrency: int | None = Field(None, ge=1, le=256)
    delay_s: float | None = Field(None, ge=0)
    request_timeout_s: float | None = Field(None, gt=0, le=600)
    max_body_bytes: int | None = Field(None, ge=1024)
    retries: int | None = Field(None, ge=0, le=10)
    max_retry_after_s: float | None = Field(None, ge=0)
    max_urls_per_path: int | None = Field(None, ge=1)
    respect_robots: bool | None = None
    # Also load every page in Chromium: links, lazy images and resources of the rendered DOM are
    # checked too, and each page's failed requests, script and console errors and mixed content
    # are findings (see docs/rendered-crawl.md). Needs a browser (see [browser]).
    render: bool = False
    # Pages rendered at once (each in its own browser context).
    render_concurrency: int = Field(2, ge=1, le=32)
    # After a page's load event, wait at most this long for its network to go idle.
    render_settle_s: float = Field(5.0, ge=0, le=60)
    # A page's load event at most this long in the browser (else page_render_failed).
    render_timeout_s: float = Field(20.0, gt=0, le=300)
    # Scroll each page to the bottom (a screen at a time) so that lazy images load.
    render_scroll: bool = True

    def limits(self, base: CrawlLimits) -> CrawlLimits:
        """The site's limits with this check's overrides applied (validated like the site's own)."""
        overrides = {
            k: v for k, v in self.model_dump().items() if k in CrawlLimits.model_fields and v is not None
        }
        return CrawlLimits.model_validate({**base.model_dump(), **overrides})


@register
class CrawlCheck(Check[CrawlOptions]):
    """Dead links, images and resources; redirect chains and loops; missing fragments; sitemaps.

    Errors: broken_link, broken_image, broken_resource, redirect_loop, sitemap_dead_url.
    Warnings: blocked_link, rate_limited, redirect_chain, malformed_link, missing_fragment,
    sitemap_orphan_page, sitemap_missing_page, crawl_incomplete (see `auditor.crawl.verdict`).
    With `render = true` also page_request_failed, page_script_error, page_console_error,
    mixed_content and page_render_failed (see `auditor.crawl.render_hook`).
    """

    kind = "crawl"
    Options = CrawlOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Crawl from ctx.base_url (or its start_paths) and report every broken link with its sources."""
        from auditor.browser.launch import SharedBrowser

        opts = self.options
        limits = opts.limits(ctx.site.crawl)
        own_browser: SharedBrowser | None = None
        hook: RenderHook | None = None
        no_browser: str | None = None
        if opts.render:
            try:
                if ctx.resources is not None:
                    browser = await ctx.resources.browser()
                else:
                    own_browser = SharedBrowser()
                    browser = await own_browser.get()
                from auditor.crawl.render_hook import RenderHook

                hook = RenderHook(browser, self._render_settings(ctx), opts.render_concurrency)
            except InfrastructureError as e:
                no_browser = str(e)
        try:
            result = await self._crawl(ctx, limits, hook)
        finally:
            if hook is not None:
                await hook.close()
            if own_browser is not None:
                await own_browser.close()
        why = no_browser or (hook.stopped if hook is not None else None)
        if why is not None:
            # The HTTP crawl's findings stand; the check says it could not do what it was asked.
            result.status = Status.ERROR
            done = "" if no_browser else f" after {int(result.stats.get('rendered_pages', 0))} page(s)"
            result.message = (
                f"render = true: the pages could not be rendered{done}: {why}\n"
                "The HTTP crawl's findings are reported."
            )
        return result

    def _render_settings(self, ctx: CheckContext) -> RenderSettings:
        from auditor.crawl.render import RenderSettings
        from auditor.crawl.urls import host_of, normalise

        opts = self.options
        headers = dict(ctx.site.headers)
        if ctx.site.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in ctx.site.cookies.items())
        return RenderSettings(
            navigation_timeout_s=opts.render_timeout_s,
            settle_timeout_s=opts.render_settle_s,
            scroll_steps=20 if opts.render_scroll else 0,
            # The browser's own User-Agent unless the site sets one (a shop may serve bots less).
            user_agent=ctx.site.user_agent if ctx.site.user_agent != DEFAULT_USER_AGENT else None,
            extra_headers=headers,
            header_host=host_of(normalise(ctx.base_url)[0]),
        )

    async def _crawl(self, ctx: CheckContext, limits: CrawlLimits, hook: RenderHook | None) -> CheckResult:
        # The crawler, loaded only to crawl: validating a config imports none of it.
        from auditor.crawl.engine import Crawl
        from auditor.crawl.wire import AiohttpWire
        from auditor.http import build_session

        opts = self.options
        async with build_session(ctx.site, limits) as session:
            crawl = Crawl(
                ctx,
                AiohttpWire(session, ctx.site.host_settings()),
                limits,
                start_paths=opts.start_paths if opts.start_paths is not None else [ctx.base_url],
                external=opts.external,
                fragments=opts.fragments,
                sitemap=opts.sitemap,
                include=opts.include,
                exclude=opts.exclude,
                scope=opts.scope,
                chain_hops=opts.redirect_chain_hops,
            )
            crawl.page_hook = hook
            return await crawl.run()

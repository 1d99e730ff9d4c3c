"""The `login` check kind: the account a purchase created works in a clean browser, and holds it.

The credentials come from the purchase scenario's outputs (the password it typed at checkout) or
from the account email (a generated password, or a set-password / magic link). A *new* browser
context with no cookies logs in through a login scenario the user names (or opens the emailed
link), then the account area must show the purchase (by default its order number) on one of its
pages, as a customer would look for it: the first account page, then the other `account_paths` and
the account pages they link to, in the browser, until every text is found or `max_pages` were
searched. Finally the account area is crawled with that session (`auditor.crawl.area`: never a
logout link, never a form) and every dead link on it is reported, except delivery links (matching
`download_pattern`): those are collected in `account_download_links` for the `delivery` check,
which fetches them and reports them, so a dead download is reported once.

The session (the browser's storage state) is a credential: it is never written to outputs or
reports; it is handed to `delivery` in memory, through `ctx.resources.sessions[<customer email>]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from auditor.browser.evidence import Evidence
from auditor.check import Check, CheckContext
from auditor.checks.inbox import NotUsable, mailbox_for, pick_outputs
from auditor.config import check_regex, check_regexes
from auditor.crawl.urls import MalformedURL, host_of, normalise, resolve
from auditor.errors import Problem
from auditor.mail.mailbox import wait_for
from auditor.mail.message import Message
from auditor.registry import register
from auditor.results import Artifact, CheckResult, Finding, Severity, Status
from auditor.scenarios.customer import Customer
from auditor.scenarios.fixtures import Card
from auditor.scenarios.loader import find
from auditor.scenarios.options import ScenarioOptions
from auditor.scenarios.run import apply_site_access, run_scenario
from auditor.scenarios.spec import ScenarioLoadError
from auditor.scrub import REDACTED, Scrubber, keyring_of

# What a page shows when it refuses something: the text of these is quoted in `login_failed`.
ALERTS = "[role=alert], .alert, .error, .errors"
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_-]{16,}$")
# A signed value as Django's signing and its kin write it: value:timestamp:signature (base64url parts).
_SIGNED = re.compile(r"^[A-Za-z0-9_=-]+(:[A-Za-z0-9_=-]+){1,3}$")
_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"\d"))


class LoginOptions(BaseModel):
    """How to log in as the purchase's customer, and what the account must show."""

    model_config = ConfigDict(extra="forbid")

    # The login scenario (run in a new context with the customer's email and password).
    scenario: str = Field("demo-login", min_length=1)
    # Folders to load the login scenario from (relative to the config; "bundled" for the shipped ones).
    paths: list[str] = ["bundled"]
    # The needed check whose outputs hold the purchase; default: the one needed check with a customer.
    purchase: str | None = None
    # "outputs": the email and password the purchase typed; "email": read them from the account email.
    credentials: Literal["outputs", "email"] = "outputs"
    # credentials = "email": which email holds them, and how to read the password or the link.
    email_subject: str = "account"
    # credentials = "email": a regex whose first group is the password in the email's text.
    password_pattern: str = r"password:\s*(\S+)"
    # credentials = "email": a regex for a magic or set-password link, opened instead of the login scenario.
    link_pattern: str | None = None
    # How long to wait for the account email.
    email_wait_s: float = Field(120.0, ge=0)
    # Texts the account must show; `{order_number}` is the purchase's order number.
    expect_in_account: list[str] = ["{order_number}"]
    # Paths of the account area: the crawl and the search for `expect_in_account` start at each and stay
    # under them.
    account_paths: list[str] = Field(["/account"], min_length=1)
    # Regexes of URLs the account crawl never requests (logout links are always left out).
    exclude: list[str] = []
    # Delivery links: collected for the `delivery` check (keep equal to its `link_pattern`), not checked here.
    download_pattern: str = r"/download/"
    # Account pages parsed at most.
    max_pages: int = Field(50, ge=1)
    # The login scenario's step time limit.
    step_timeout_s: float = Field(30.0, gt=0)

    @field_validator("exclude")
    @classmethod
    def _exclude_compiles(cls, value: list[str]) -> list[str]:
        return check_regexes(value)

    @field_validator("email_subject", "password_pattern", "download_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        return check_regex(value)

    @field_validator("link_pattern")
    @classmethod
    def _link_compiles(cls, value: str | None) -> str | None:
        return value if value is None else check_regex(value)

    @field_validator("account_paths")
    @classmethod
    def _paths_absolute(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if not p.startswith("/")]
        if bad:
            raise ValueError(f"account paths start with '/', got {bad}")
        return value

    @model_validator(mode="after")
    def _link_needs_email(self) -> LoginOptions:
        if self.link_pattern and self.credentials != "email":
            raise ValueError('link_pattern reads a link from the account email: set credentials = "email"')
        return self


class Credentials(BaseModel):
    """How the customer gets in: a password for the login scenario, or a link to open."""

    email: str
    name: str
    password: str = ""
    link: str | None = None


def stable_url(url: str) -> str:
    """`url` with token-like path segments as `{token}`: the same dead link in the next run (with a
    fresh token) gets the same fingerprint, so it stays one incident."""
    parts = url.split("?", 1)[0].split("/")
    return "/".join("{token}" if _is_token(p) else p for p in parts)


def _is_token(segment: str) -> bool:
    """Random-looking: 16+ URL-safe characters mixing at least two of lower, upper and digits (a
    slug like `the-complete-course` is one class; `token_urlsafe(16)` nearly always mixes all three)."""
    if len(segment) >= 16 and _SIGNED.match(segment):
        return True
    return bool(_TOKEN_CHARS.match(segment)) and sum(bool(c.search(segment)) for c in _CLASSES) >= 2


@register
class LoginCheck(Check[LoginOptions]):
    """The purchase's account: logging in works in a clean browser, the order shows, its links work.

    Errors: login_failed, purchase_not_in_account, delivery_link_broken.
    """

    kind = "login"
    Options = LoginOptions
    # A scenario that failed after creating the account (a broken thank-you page) still left one.
    tolerates_failed_needs: ClassVar[bool] = True

    @classmethod
    def config_problems(cls, options: BaseModel, config_dir: Path) -> list[Problem]:
        """The login scenario must exist (only used when credentials are a password)."""
        assert isinstance(options, LoginOptions)
        if options.link_pattern:
            return []
        try:
            find(options.scenario, options.paths, config_dir)
        except ScenarioLoadError as e:
            return [Problem("scenario", str(e))]
        return []

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Get the credentials, log in in a new context, look at the account, crawl it."""
        try:
            name, out = pick_outputs(
                ctx.outputs,
                self.options.purchase,
                "login",
                option="purchase",
                need="the purchase scenario that created the account in its `needs`",
            )
        except NotUsable as e:
            return CheckResult(status=Status.ERROR, message=str(e))
        why_not = _no_account(name, out)
        if why_not:
            return CheckResult(status=Status.SKIP, message=why_not, outputs={"logged_in": False})
        try:
            creds = await self._credentials(ctx, name, out)
        except NotUsable as e:
            return CheckResult(status=Status.ERROR, message=str(e))
        if isinstance(creds, Finding):
            return CheckResult(findings=[creds], outputs={"logged_in": False, "account_download_links": []})
        browser = await ctx.resources.browser()
        # The scenarios' default viewport: the login scenario runs in this very context.
        viewport = ScenarioOptions(scenario=self.options.scenario).viewport_size()
        context = await browser.new_context(viewport=viewport, base_url=ctx.base_url)
        try:
            return await self._in_context(ctx, context, creds, out)
        except NotUsable as e:
            return CheckResult(status=Status.ERROR, message=str(e))
        finally:
            await context.close()

    async def _credentials(
        self, ctx: CheckContext, name: str, out: Mapping[str, Any]
    ) -> Credentials | Finding:
        customer = out["customer"]
        email, cname = str(customer["email"]), str(customer.get("name") or "")
        if self.options.credentials == "outputs":
            password = customer.get("password")
            if password == REDACTED:
                # Outputs hold a mask; the run that typed the password keeps it in memory.
                password = keyring_of(ctx.resources).password(email)
                if password is None:
                    raise NotUsable(
                        f"the password {name!r} typed is kept in memory by the run that made it only; "
                        "run the login check in the same audit as the purchase"
                    )
            if not isinstance(password, str) or not password:
                raise NotUsable(f"the outputs of {name!r} hold no `customer.password` to log in with")
            return Credentials(email=email, name=cname, password=password)
        mailbox, cursor, recipient = await mailbox_for(ctx, name, out)
        subject = re.compile(self.options.email_subject, re.IGNORECASE)
        found = await wait_for(
            mailbox,
            recipient,
            cursor,
            match=lambda m: bool(subject.search(m.subject)),
            timeout_s=self.options.email_wait_s,
        )
        if not found:
            return _login_failed(
                ctx.base_url,
                f"No account email (subject matching {subject.pattern!r}) reached {recipient} within "
                f"{self.options.email_wait_s:g} s, so there are no credentials to log in with. "
                "Check that the shop sends it, or set `email_subject`.",
                step="read the account email",
            )
        return self._from_email(ctx.base_url, found[-1], email, cname)

    def _from_email(self, base_url: str, msg: Message, email: str, cname: str) -> Credentials | Finding:
        opts = self.options
        if opts.link_pattern:
            pattern = re.compile(opts.link_pattern)
            link = next((lk.url for lk in msg.links() if pattern.search(lk.url)), None)
            if link is None:
                return _login_failed(
                    base_url,
                    f"The account email {msg.subject!r} has no link matching {opts.link_pattern!r} "
                    "to log in with.",
                    step="read the account email",
                )
            return Credentials(email=email, name=cname, link=link)
        m = re.search(opts.password_pattern, msg.text, re.IGNORECASE)
        if m is None:
            return _login_failed(
                base_url,
                f"The account email {msg.subject!r} states no password (pattern {opts.password_pattern!r}).",
                step="read the account email",
            )
        return Credentials(email=email, name=cname, password=m.group(1) if m.groups() else m.group(0))

    async def _in_context(
        self, ctx: CheckContext, context: Any, creds: Credentials, out: Mapping[str, Any]
    ) -> CheckResult:
        from auditor.crawl.area import in_area  # the account crawler (httpx, aiohttp): not with a config

        opts = self.options
        findings: list[Finding] = []
        artifacts: list[Artifact] = []
        if creds.link:
            # The login scenario applies the site's headers and cookies itself; the link needs them too
            # (a staging site behind a header gate refuses the link without them).
            await apply_site_access(context, ctx.site)
            page = await context.new_page()
            try:
                await page.goto(creds.link)
            except Exception as e:  # Playwright's errors: refused, timed out, bad certificate
                broken = _login_failed(
                    ctx.base_url,
                    f"The login link from the account email could not be opened: {str(e).splitlines()[0]}",
                    step="open the link from the account email",
                )
                return CheckResult(
                    findings=[broken], outputs={"logged_in": False, "account_download_links": []}
                )
        else:
            failure, artifacts, warnings = await self._log_in(ctx, context, creds)
            findings += warnings
            if failure is not None:
                return CheckResult(
                    findings=[*findings, failure],
                    artifacts=artifacts,
                    outputs={"logged_in": False, "account_download_links": []},
                )
        page = context.pages[-1] if context.pages else await context.new_page()
        account_url = normalise(resolve(ctx.base_url, opts.account_paths[0]))[0]
        await page.goto(account_url)
        host = host_of(account_url)
        if not in_area(normalise(page.url)[0], host, opts.account_paths):
            alert = await _alert_text(page)
            said = f" It said: {alert!r}." if alert else ""
            how = "opening the link from the account email" if creds.link else f"the {opts.scenario} scenario"
            return CheckResult(
                findings=[
                    *findings,
                    _login_failed(
                        page.url,
                        f"After {how}, the account page {account_url} led to {page.url}: the customer is "
                        f"not logged in.{said} Check the shop's login and session handling.",
                        step="open the account page",
                        alert=alert,
                    ),
                ],
                artifacts=artifacts,
                outputs={"logged_in": False, "account_download_links": []},
            )
        state = await context.storage_state()
        sessions = getattr(ctx.resources, "sessions", None)
        if isinstance(sessions, dict):
            sessions[creds.email] = state
        searched, missing, rendered = await self._search(ctx, page, account_url, out)
        if missing:
            findings.append(_not_in_account(account_url, searched, missing, opts.expect_in_account, out))
        downloads, crawl_findings, stats, left = await self._crawl(ctx, state.get("cookies", []), rendered)
        stats["searched_pages"] = len(searched)
        return CheckResult(
            findings=[*findings, *crawl_findings],
            artifacts=artifacts,
            outputs={"logged_in": True, "account_url": account_url, "account_download_links": downloads},
            stats=stats,
            message=(
                "the account area could not be crawled with the browser's session cookies ("
                + "; ".join(f"{u}: {why}" for u, why in left.items())
                + "); only the account page's own links were collected"
            )
            if left and not stats["account_pages"]
            else None,
        )

    async def _log_in(
        self, ctx: CheckContext, context: Any, creds: Credentials
    ) -> tuple[Finding | None, list[Artifact], list[Finding]]:
        """Run the login scenario in `context`: (login_failed or None, its artifacts, its warnings)."""
        opts = self.options
        try:
            spec = find(opts.scenario, opts.paths, ctx.config_dir)
        except ScenarioLoadError as e:
            raise NotUsable(str(e)) from e
        first = creds.name.split()[0] if creds.name.split() else creds.name
        customer = Customer(creds.email, creds.name, first, creds.password, id=f"{ctx.run_id}-login")
        secrets = {*keyring_of(ctx.resources).values(), creds.password, *Card().numbers}
        scrubber = Scrubber.for_site(ctx.site, secrets)
        with Evidence(ctx.report_dir / ctx.name, scrubber) as evidence:
            outcome = await run_scenario(
                spec,
                browser=None,
                context=context,
                site=ctx.site,
                site_name=ctx.site_name or "site",
                customer=customer,
                # No trace: it would hold the session cookie, which never goes into a report.
                options=ScenarioOptions(scenario=spec.name, step_timeout_s=opts.step_timeout_s, trace="off"),
                artifact_dir=evidence.dir,
                run_id=ctx.run_id,
                progress=lambda step: ctx.progress(step=step),
            )
            outcome.artifacts = await evidence.publish(outcome.artifacts)
        outcome.findings = [scrubber.finding(f) for f in outcome.findings]
        outcome.message = scrubber.text(outcome.message) if outcome.message else outcome.message
        outcome.error = scrubber.text(outcome.error) if outcome.error else outcome.error
        warnings = [f for f in outcome.findings if f.kind != "scenario_failed"]
        if outcome.status != Status.FAIL:
            return None, outcome.artifacts, warnings
        page = context.pages[-1] if context.pages else None
        alert = await _alert_text(page) if page is not None else ""
        said = f" The page said: {alert!r}." if alert else ""
        failure = _login_failed(
            (page.url if page is not None else "") or ctx.base_url,
            f"Logging in as {creds.email} (the account the purchase created) failed at step "
            f"'{outcome.failed_step}' of {spec.name}: {outcome.message or outcome.error}.{said} "
            "Customers cannot reach their account: check the shop's login.",
            step=outcome.failed_step or "",
            alert=alert,
            scenario=spec.name,
        )
        return failure, outcome.artifacts, warnings

    async def _search(
        self, ctx: CheckContext, page: Any, account_url: str, out: Mapping[str, Any]
    ) -> tuple[list[str], list[str], list[str]]:
        """Look for `expect_in_account` as the customer would, in the browser: the account page, then
        the other `account_paths`, then the account pages they link to (breadth first), until every
        text was seen on some page or `max_pages` were searched.

        Returns the pages searched (as reached), the texts found on none, and every link on them.
        Logout links, `exclude` and delivery links are never opened.
        """
        from auditor.crawl.area import LOGOUT, in_area

        opts = self.options
        host = host_of(account_url)
        never = [LOGOUT, re.compile(opts.download_pattern), *(re.compile(x) for x in opts.exclude)]
        wanted = _expected(opts.expect_in_account, out)
        queue = [account_url, *(normalise(resolve(ctx.base_url, p))[0] for p in opts.account_paths[1:])]
        seen = set(queue)
        searched: list[str] = []
        rendered: list[str] = []
        while queue and len(searched) < opts.max_pages:
            url = queue.pop(0)
            if normalise(page.url)[0] != url:
                try:
                    await page.goto(url)
                except Exception:  # Playwright's errors: a file download, a reset, a time-out
                    continue
            here = normalise(page.url)[0]
            if not in_area(here, host, opts.account_paths) or here in searched:
                continue
            searched.append(here)
            text = (await page.locator("body").inner_text()).lower()
            wanted = [w for w in wanted if w.strip().lower() not in text]
            links = await page.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
            rendered += [u for u in links if isinstance(u, str)]
            if not wanted:
                break
            for link in links:
                try:
                    target = normalise(str(link))[0]
                except MalformedURL:
                    continue
                inside = target not in seen and in_area(target, host, opts.account_paths)
                if inside and not any(p.search(target) for p in never):
                    seen.add(target)
                    queue.append(target)
        return searched, wanted, rendered

    async def _crawl(
        self, ctx: CheckContext, cookies: list[dict[str, Any]], rendered: list[str]
    ) -> tuple[list[str], list[Finding], dict[str, int | float], dict[str, str]]:
        """The account area's delivery links, a finding per other dead link on it, its stats, and
        the start pages that did not load inside the area (the session did not work outside the browser)."""
        from auditor.crawl.area import LOGOUT, crawl_area, session_client

        opts = self.options
        download = re.compile(opts.download_pattern)
        async with session_client(ctx.site, cookies, ctx.site.crawl) as client:
            area = await crawl_area(
                client,
                ctx.site,
                ctx.base_url,
                paths=opts.account_paths,
                exclude=[re.compile(p) for p in opts.exclude],
                skip_check=[download],
                max_pages=opts.max_pages,
            )
        downloads = list(
            dict.fromkeys(
                [u for u in area.links if download.search(u)]
                + [u for u in rendered if download.search(u) and not LOGOUT.search(u)]
            )
        )
        findings = []
        for link in area.links.values():
            v = link.verdict
            if v is None or not v.broken:
                continue
            findings.append(
                Finding(
                    "delivery_link_broken",
                    Severity.ERROR,
                    stable_url(link.url),
                    f"The link {link.url} on the account page {link.sources[0]} is dead for the logged-in "
                    f"customer: {v.describe()}. Fix the link or the page it points to.",
                    source=link.sources[0],
                    sources=list(link.sources),
                    element=link.element,
                    key="account",
                    evidence={"link": link.url, "found_on": "account page", **v.evidence()},
                )
            )
        stats: dict[str, int | float] = {
            "account_pages": len(area.pages),
            "links": len(area.links),
            "broken": len(findings),
            "download_links": len(downloads),
        }
        return downloads, findings, stats, area.left_area


def _no_account(name: str, out: Mapping[str, Any]) -> str:
    """Why the purchase left no account to log in to ("" when it may have)."""
    result = out.get("payment_result")
    if result is not None and result != "approved":
        return f"the payment of {name} was {result}, so the shop created no account"
    if result is None and "payment_submitted_at" in out:
        return f"{name} did not finish paying, so it is unknown whether the shop created the account"
    if out.get("account_created") is False:
        return f"{name} did not create an account, so there is none to log in to"
    if result is None and out.get("account_created") is not True:
        return f"{name} neither paid nor said it created an account (outputs `account_created`)"
    return ""


def _expected(expected: list[str], out: Mapping[str, Any]) -> list[str]:
    """The texts to find, `{order_number}` filled in (left out when the scenario saw no number)."""
    number = str(out.get("order_number") or "")
    wanted = []
    for raw in expected:
        if "{order_number}" in raw and not number:
            continue  # the scenario never saw an order number to look for
        text = raw.replace("{order_number}", number)
        if text.strip():
            wanted.append(text)
    return wanted


def _not_in_account(
    account_url: str, searched: list[str], missing: list[str], expected: list[str], out: Mapping[str, Any]
) -> Finding:
    pages = ", ".join(searched) or account_url
    return Finding(
        "purchase_not_in_account",
        Severity.ERROR,
        account_url,
        f"No page of the account area shows {', '.join(repr(m) for m in missing)} of the purchase "
        f"(order #{out.get('order_number') or '?'}); {len(searched)} page(s) searched: {pages}. A customer "
        "who logs in does not find what they bought: check that orders are linked to the account, or add "
        "the page that lists them to `account_paths`.",
        key=" ".join(expected),
        element="body",
        evidence={"missing": missing, "expected": expected, "searched": searched},
    )


async def _alert_text(page: Any) -> str:
    try:
        texts = await page.locator(ALERTS).all_inner_texts()
    except Exception:  # a page that is gone or navigating: no alert to quote
        return ""
    return " ".join(t.strip() for t in texts if t.strip())[:500]


def _login_failed(url: str, message: str, *, step: str, alert: str = "", scenario: str = "") -> Finding:
    return Finding(
        "login_failed",
        Severity.ERROR,
        url,
        message,
        element=f"scenario {scenario}" if scenario else None,
        # Stable across runs: the login page's URL and the step, not the customer.
        key=step,
        evidence={"step": step, "alert": alert, "scenario": scenario},
    )

"""The `delivery` check kind: every download link the customer was given returns the file.

Links come from the needed checks' outputs: the thank-you page (`download_links` of the purchase
scenario), the email check (links of its messages matching `link_pattern`) and the login check
(`account_download_links`). Each distinct link is fetched with the customer's session (when the
login check left one in `ctx.resources.sessions`) and, as `anonymous` says, without it: it must
answer 200 with an accepted content type and at least `min_bytes` bytes. Bodies are streamed and
the download stops as soon as enough was read, so a 2 GB course costs a few kilobytes.

Runs even when the purchase scenario failed (`tolerates_failed_needs`): a broken thank-you page is
exactly when the emailed link matters.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from auditor.check import Check, CheckContext
from auditor.checks.login import stable_url
from auditor.mail.mailbox import Cursor
from auditor.registry import register
from auditor.results import CheckResult, Finding, Severity, Status

if TYPE_CHECKING:  # loaded to fetch the files, not with a config
    import httpx

THANK_YOU, EMAIL, ACCOUNT = "thank-you page", "email", "account page"


class DeliveryOptions(BaseModel):
    """Which links are deliveries, what a delivered file looks like, and who may download it."""

    model_config = ConfigDict(extra="forbid")

    # Regex: the links that are deliveries (keep the login check's `download_pattern` equal).
    link_pattern: str = r"/download/"
    # Accepted content types (prefixes: "application/pdf", "video/"); empty: anything but HTML.
    content_types: list[str] = []
    # The smallest acceptable file; only this much is downloaded.
    min_bytes: int = Field(1, ge=1)
    # Without the session: "allowed" (must also work), "denied" (must not give the file), "skip".
    anonymous: Literal["allowed", "denied", "skip"] = "allowed"
    # A paid purchase with no delivery link anywhere is `delivery_link_missing`; false for purchases without
    # downloads.
    expect_links: bool = True

    @field_validator("link_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"bad regex {value!r}: {e}") from e
        return value


@dataclass
class DeliveryLink:
    """One distinct delivery link and every place the customer was given it."""

    url: str
    found_in: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Fetched:
    """What one download attempt gave: a file, or why not."""

    status: int | None
    final_url: str
    content_type: str
    bytes_read: int
    error: str = ""

    def problem(self, opts: DeliveryOptions) -> str:
        """Why this is not the delivered file ("" when it is)."""
        if self.status is None:
            return self.error or "no response"
        if self.status != 200:
            where = f" at {self.final_url}" if self.final_url else ""
            return f"HTTP {self.status}{where}"
        ct = self.content_type.split(";", 1)[0].strip().lower()
        if opts.content_types and not any(ct.startswith(t.lower()) for t in opts.content_types):
            return f"content type {ct or 'none'} (accepted: {', '.join(opts.content_types)})"
        if not opts.content_types and ct in ("text/html", "application/xhtml+xml"):
            return "an HTML page instead of a file"
        if self.bytes_read < opts.min_bytes:
            return f"{self.bytes_read} bytes (at least {opts.min_bytes} expected)"
        return ""

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "final_url": self.final_url,
            "content_type": self.content_type,
            "bytes_read": self.bytes_read,
            **({"error": self.error} if self.error else {}),
        }


def gather_links(
    outputs: Mapping[str, Mapping[str, Any]], pattern: re.Pattern[str], emailed: Sequence[str] = ()
) -> list[DeliveryLink]:
    """Every delivery link in the needed checks' outputs (and `emailed`, the links of the email
    check's messages as read from the mailbox), once each, with where it was given."""
    found: dict[str, DeliveryLink] = {}

    def add(url: Any, where: str) -> None:
        if isinstance(url, str) and url and pattern.search(url):
            link = found.setdefault(url, DeliveryLink(url))
            if where not in link.found_in:
                link.found_in.append(where)

    for out in outputs.values():
        for url in _list(out.get("download_links")):
            add(url, THANK_YOU)
    for url in [*(lk.get("url") for out in outputs.values() for lk in _email_links(out)), *emailed]:
        add(url, EMAIL)
    for out in outputs.values():
        for url in _list(out.get("account_download_links")):
            add(url, ACCOUNT)
    return list(found.values())


async def emailed_links(ctx: CheckContext) -> list[str]:
    """The links of the messages an email check found (`message_uids`), read again from the mailbox:
    the email check's own `links` leave out what its `ignore_links` skip, download links included."""
    uids = {str(u) for out in ctx.outputs.values() for u in _list(out.get("message_uids"))}
    purchase = next((o for o in ctx.outputs.values() if isinstance(o.get("mail_cursor"), Mapping)), None)
    if not uids or purchase is None or not isinstance(purchase.get("customer"), Mapping):
        return []
    mailbox = await ctx.resources.mailbox()
    if mailbox is None:
        return []
    cursor = Cursor.from_dict(dict(purchase["mail_cursor"]))
    messages = await mailbox.fetch(str(purchase["customer"]["email"]), cursor)
    return [lk.url for m in messages if m.uid in uids for lk in m.links() if lk.kind == "link"]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _email_links(out: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The links an email check recorded: its `links`, or each message's `links`."""
    links = [lk for lk in _list(out.get("links")) if isinstance(lk, Mapping)]
    messages = out.get("messages")
    per_message = messages.values() if isinstance(messages, Mapping) else _list(messages)
    for msg in per_message:
        if isinstance(msg, Mapping):
            links += [lk for lk in _list(msg.get("links")) if isinstance(lk, Mapping)]
    return links


async def fetch_file(client: httpx.AsyncClient, url: str, min_bytes: int) -> Fetched:
    """GET `url` following redirects, reading only until `min_bytes` (at least 1) arrived."""
    import httpx

    try:
        async with client.stream("GET", url, follow_redirects=True) as resp:
            read = 0
            if resp.status_code == 200:
                async for chunk in resp.aiter_bytes():
                    read += len(chunk)
                    if read >= min_bytes:
                        break
            return Fetched(resp.status_code, str(resp.url), resp.headers.get("content-type", ""), read)
    except httpx.HTTPError as e:
        return Fetched(None, "", "", 0, error=f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


@register
class DeliveryCheck(Check[DeliveryOptions]):
    """The purchase's download links (thank-you page, email, account) return the file.

    Errors: delivery_link_broken, delivery_link_missing, delivery_link_unprotected.
    """

    kind = "delivery"
    Options = DeliveryOptions
    tolerates_failed_needs: ClassVar[bool] = True

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Fetch every delivery link logged in and/or anonymously; report what does not deliver."""
        opts = self.options
        if not ctx.outputs:
            return CheckResult(
                status=Status.ERROR,
                message="the delivery check reads links from its `needs`: add the purchase scenario "
                "(and the email and login checks, if any) to them",
            )
        unpaid = _unpaid(ctx.outputs)
        if unpaid:
            return CheckResult(status=Status.SKIP, message=unpaid)
        links = gather_links(ctx.outputs, re.compile(opts.link_pattern), await emailed_links(ctx))
        if not links:
            if not opts.expect_links:
                return CheckResult(outputs={"links": []})
            return CheckResult(findings=[self._missing(ctx)], outputs={"links": []})
        session = _session(ctx)
        if session is None and opts.anonymous == "skip":
            return CheckResult(
                status=Status.SKIP,
                message="no logged-in session to fetch the links with (add the login check to `needs`) "
                'and anonymous = "skip"',
                outputs={"links": [{"url": lk.url, "found_in": lk.found_in} for lk in links]},
            )
        results = await self._fetch_all(ctx, links, session)
        findings = [f for link, r in zip(links, results, strict=True) if (f := self._judge(link, r, session))]
        return CheckResult(
            findings=findings,
            outputs={
                "links": [
                    {"url": lk.url, "found_in": lk.found_in, **{k: v.as_json() for k, v in r.items()}}
                    for lk, r in zip(links, results, strict=True)
                ]
            },
            stats={"delivery_links": len(links), "broken": len(findings)},
        )

    async def _fetch_all(
        self, ctx: CheckContext, links: Sequence[DeliveryLink], session: list[dict[str, Any]] | None
    ) -> list[dict[str, Fetched]]:
        from auditor.crawl.area import session_client
        from auditor.http import build_client

        opts = self.options
        anon_client = build_client(ctx.site)
        session_c = session_client(ctx.site, session, ctx.site.crawl) if session is not None else None
        try:

            async def one(url: str) -> dict[str, Fetched]:
                got: dict[str, Fetched] = {}
                if session_c is not None:
                    got["logged_in"] = await fetch_file(session_c, url, opts.min_bytes)
                if opts.anonymous != "skip":
                    got["anonymous"] = await fetch_file(anon_client, url, opts.min_bytes)
                return got

            return list(await asyncio.gather(*(one(lk.url) for lk in links)))
        finally:
            await anon_client.aclose()
            if session_c is not None:
                await session_c.aclose()

    def _judge(
        self, link: DeliveryLink, got: Mapping[str, Fetched], session: list[dict[str, Any]] | None
    ) -> Finding | None:
        opts = self.options
        where = " and ".join(link.found_in)
        problems: list[str] = []
        if "logged_in" in got and (p := got["logged_in"].problem(opts)):
            problems.append(f"logged in: {p}")
        anon = got.get("anonymous")
        if anon is not None:
            p = anon.problem(opts)
            if opts.anonymous == "denied":
                if not p:
                    return self._finding(
                        "delivery_link_unprotected",
                        link,
                        got,
                        f"The download link {link.url} (from the {where}) gives the file to anyone who has "
                        'the link, without logging in, but `anonymous = "denied"` expects it to be '
                        "protected. Require the customer's session for downloads.",
                    )
            elif p:
                problems.append(f"{'without a session' if session is not None else 'fetched'}: {p}")
        if not problems:
            return None
        return self._finding(
            "delivery_link_broken",
            link,
            got,
            f"The download link {link.url} from the {where} does not deliver the file "
            f"({'; '.join(problems)}). The customer paid and cannot get what they bought: fix the download.",
        )

    def _finding(self, kind: str, link: DeliveryLink, got: Mapping[str, Fetched], message: str) -> Finding:
        return Finding(
            kind,
            Severity.ERROR,
            stable_url(link.url),
            message,
            element="a[href]",
            key=",".join(link.found_in),
            evidence={
                "link": link.url,
                "found_in": link.found_in,
                **{k: v.as_json() for k, v in got.items()},
            },
        )

    def _missing(self, ctx: CheckContext) -> Finding:
        checked = ", ".join(sorted(ctx.outputs))
        return Finding(
            "delivery_link_missing",
            Severity.ERROR,
            ctx.base_url,
            f"No download link matching {self.options.link_pattern!r} was found on the thank-you page, in "
            f"the email or in the account (outputs of {checked}). The customer bought a digital product "
            "and was given no way to get it. Set expect_links = false for a purchase without downloads.",
            key=self.options.link_pattern,
            evidence={"checked": sorted(ctx.outputs), "link_pattern": self.options.link_pattern},
        )


def _unpaid(outputs: Mapping[str, Mapping[str, Any]]) -> str:
    """Why no delivery is expected: every purchase among the needs ended without an approved payment."""
    results = {n: o.get("payment_result") for n, o in outputs.items() if "payment_result" in o}
    if results and all(r != "approved" for r in results.values()):
        names = ", ".join(f"{n} ({r})" for n, r in results.items())
        return f"no payment was approved ({names}), so nothing is delivered"
    purchases = [n for n, o in outputs.items() if isinstance(o.get("customer"), Mapping)]
    if purchases and not results and all("payment_submitted_at" not in outputs[n] for n in purchases):
        return f"{', '.join(purchases)} never submitted a payment, so nothing is delivered"
    return ""


def _session(ctx: CheckContext) -> list[dict[str, Any]] | None:
    """The cookies of the customer's logged-in session, if the login check left one."""
    sessions = getattr(ctx.resources, "sessions", None)
    if not isinstance(sessions, dict):
        return None
    for out in ctx.outputs.values():
        customer = out.get("customer")
        if isinstance(customer, Mapping) and customer.get("email") in sessions:
            state = sessions[customer["email"]]
            cookies = state.get("cookies") if isinstance(state, Mapping) else None
            return list(cookies) if isinstance(cookies, list) else None
    return None

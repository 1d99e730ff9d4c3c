"""The `contact-form` and `newsletter` check kinds: the emails that follow a form a visitor sent.

- `contact-form` (after the `contact-form` scenario): the auto-response arrives within its limit
  and tells the customer when a person will answer.
- `newsletter` (after the `newsletter-signup` scenario): the double opt-in confirmation arrives, its
  link works, and the welcome email follows the click.

Both read the mailbox from the position their scenario recorded, to the scenario customer's own
address, and inspect each email like the `email` check does (merge tags, every link and image),
with the helpers of auditor/checks/inbox.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from auditor.check import Check, CheckContext
from auditor.checks.inbox import (
    CheckedLink,
    LinkOptions,
    NotUsable,
    check_links,
    compile_pattern,
    finding,
    lateness,
    link_findings,
    mailbox_for,
    merge_tag_findings,
    parse_time,
    pick_outputs,
    remaining,
    visible_text,
)
from auditor.mail.mailbox import Cursor, Mailbox, wait_for
from auditor.mail.message import Link, Message
from auditor.registry import register
from auditor.results import CheckResult, Finding, Severity, Status

DEFAULT_FOLLOW_UP = r"(reply|respond|get back).{0,40}(within|in)\s+\d+\s+(business\s+)?(hours?|days?)"


def _compiles(value: str) -> str:
    compile_pattern(value)
    return value


class FlowOptions(LinkOptions):
    """What every form-follow-up check shares: which scenario, and how long its emails may take."""

    # The needed check whose outputs hold the form's customer; default: the one needed check with one.
    scenario: str | None = None
    # Later than this is `email_late` (a warning) ...
    limit_s: float = Field(300.0, ge=0)
    # ... and nothing within this is missing.
    deadline_s: float = Field(600.0, ge=0)


class ContactFormOptions(FlowOptions):
    """How to recognise the contact form's auto-response and the follow-up promise it should make."""

    # Regex the auto-response's subject matches (case-insensitive).
    subject: str = "received your message"
    # Regex for the promise of when a person will answer ("we reply within 2 business days").
    follow_up: str = DEFAULT_FOLLOW_UP

    _patterns = field_validator("subject", "follow_up")(_compiles)


class NewsletterOptions(FlowOptions):
    """How to recognise the confirmation email, its link, and the welcome email."""

    # Regex the confirmation email's subject matches (case-insensitive).
    confirm_subject: str = "confirm"
    # Regex for the confirmation link, matched against its URL or its text.
    confirm_link: str = "confirm"
    # Regex the welcome email's subject matches (case-insensitive).
    welcome_subject: str = "welcome"

    _patterns = field_validator("confirm_subject", "confirm_link", "welcome_subject")(_compiles)


async def _start(
    ctx: CheckContext, scenario: str | None, kind: str, sent_key: str
) -> tuple[str, datetime, Mailbox, Cursor, str] | CheckResult:
    """The scenario, when its form was sent, the mailbox, the position and the address; or the
    result to return at once (skip when the form was never sent, error when misconfigured)."""
    try:
        name, out = pick_outputs(ctx.outputs, scenario, kind)
        sent_at = parse_time(out.get(sent_key))
        if sent_at is None:
            return CheckResult(
                status=Status.SKIP,
                message=f"{name} never sent its form (no `{sent_key}`), so no email is expected",
            )
        mailbox, cursor, recipient = await mailbox_for(ctx, name, out)
    except NotUsable as e:
        return CheckResult(status=Status.ERROR, message=str(e))
    return name, sent_at, mailbox, cursor, recipient


async def _wait_one(
    mailbox: Mailbox, recipient: str, cursor: Cursor, subject: str, since: datetime, deadline_s: float
) -> Message | None:
    """The first message after `cursor` whose subject matches, waiting until `deadline_s` after `since`."""
    pattern = compile_pattern(subject)
    found = await wait_for(
        mailbox,
        recipient,
        cursor,
        match=lambda m: bool(pattern.search(m.subject)),
        timeout_s=remaining(since, deadline_s, datetime.now(UTC)),
    )
    return found[0] if found else None


async def _inspect(
    ctx: CheckContext, messages: Mapping[str, Message], opts: LinkOptions, skip: Sequence[str] = ()
) -> tuple[list[Finding], list[CheckedLink]]:
    """Merge tags and links of each message (`skip`: URLs already opened by the check itself)."""
    findings: list[Finding] = []
    if opts.merge_tags:
        for name, msg in messages.items():
            findings += merge_tag_findings(name, [msg], ctx.base_url, opts.ignore_merge_tags)
    extra = [*opts.ignore_links, *(f"^{re.escape(u)}$" for u in skip)]
    checked = await check_links(
        ctx, {n: [m] for n, m in messages.items()}, opts.model_copy(update={"ignore_links": extra})
    )
    return findings + link_findings(checked), checked


def _summary(msg: Message | None, since: datetime) -> dict[str, Any]:
    if msg is None:
        return {"subject": None, "latency_s": None, "uid": None}
    latency = round((msg.received_at - since).total_seconds(), 3)
    return {
        "subject": msg.subject,
        "latency_s": latency,
        "uid": msg.uid,
        "received_at": msg.received_at.isoformat(),
    }


@register
class ContactFormCheck(Check[ContactFormOptions]):
    """The contact form's auto-response: it arrives in time and says when a person will reply.

    Errors: autoresponse_missing, email_merge_tag, email_broken_link.
    Warnings: email_late, autoresponse_no_follow_up.
    """

    kind = "contact-form"
    Options = ContactFormOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Wait for the auto-response to the scenario's message, then read it."""
        started = await _start(ctx, self.options.scenario, self.kind, "contact_sent_at")
        if isinstance(started, CheckResult):
            return started
        scenario, sent_at, mailbox, cursor, recipient = started
        opts = self.options
        msg = await _wait_one(mailbox, recipient, cursor, opts.subject, sent_at, opts.deadline_s)
        outputs: dict[str, Any] = {"scenario": scenario, "autoresponse": _summary(msg, sent_at)}
        if msg is None:
            missing = finding(
                "autoresponse_missing",
                Severity.ERROR,
                ctx.base_url,
                "autoresponse",
                f"No auto-response (subject matching {opts.subject!r}) reached {recipient} within "
                f"{opts.deadline_s:g} s of sending the contact form. The customer cannot tell whether "
                "the message arrived: check the form's mail settings.",
                recipient=recipient,
            )
            return CheckResult(findings=[missing], outputs={**outputs, "message_uids": []})
        findings: list[Finding] = []
        latency = (msg.received_at - sent_at).total_seconds()
        late = lateness("autoresponse", latency, opts.limit_s, math.inf, ctx.base_url, "the form was sent")
        if late:
            findings.append(late)
        if not compile_pattern(opts.follow_up).search(visible_text(msg)):
            findings.append(
                finding(
                    "autoresponse_no_follow_up",
                    Severity.WARNING,
                    ctx.base_url,
                    "autoresponse",
                    f"The auto-response {msg.subject!r} does not say when a person will answer (nothing "
                    f'matches {opts.follow_up!r}). Add a promise such as "we reply within 1 business day".',
                    subject=msg.subject,
                )
            )
        inspected, checked = await _inspect(ctx, {"autoresponse": msg}, opts)
        outputs |= {"message_uids": [msg.uid], "links": [c.as_json() for c in checked]}
        return CheckResult(findings=findings + inspected, outputs=outputs, stats={"links": len(checked)})


@register
class NewsletterCheck(Check[NewsletterOptions]):
    """The newsletter's double opt-in: the confirmation email, its link, then the welcome email.

    Errors: email_missing, email_broken_link, email_merge_tag. Warnings: email_late.
    """

    kind = "newsletter"
    Options = NewsletterOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Wait for the confirmation, open its link (as the subscriber would), wait for the welcome."""
        started = await _start(ctx, self.options.scenario, self.kind, "newsletter_requested_at")
        if isinstance(started, CheckResult):
            return started
        scenario, asked_at, mailbox, cursor, recipient = started
        opts = self.options
        outputs: dict[str, Any] = {"scenario": scenario}
        findings: list[Finding] = []
        confirm = await _wait_one(mailbox, recipient, cursor, opts.confirm_subject, asked_at, opts.deadline_s)
        outputs["confirmation"] = _summary(confirm, asked_at)
        if confirm is None:
            findings.append(self._missing(ctx, "confirmation", opts.confirm_subject, recipient, "signing up"))
            return CheckResult(findings=findings, outputs={**outputs, "message_uids": []})
        findings += self._late(ctx, "confirmation", confirm, asked_at, "signing up")
        messages = {"confirmation": confirm}
        link = self._confirm_link(confirm)
        opened: list[str] = []
        if link is None:
            findings.append(
                finding(
                    "email_broken_link",
                    Severity.ERROR,
                    ctx.base_url,
                    "confirmation",
                    f"The confirmation email {confirm.subject!r} has no link matching {opts.confirm_link!r}: "
                    "the subscriber cannot confirm. Add the confirmation link (or set `confirm_link`).",
                    key="no confirmation link",
                )
            )
        else:
            opened.append(link.url)
            clicked_at = datetime.now(UTC)
            broken = await self._open(ctx, link)
            outputs["confirm_url"] = link.url
            if broken:
                findings.append(broken)
            else:
                welcome = await _wait_one(
                    mailbox, recipient, cursor, opts.welcome_subject, clicked_at, opts.deadline_s
                )
                outputs["welcome"] = _summary(welcome, clicked_at)
                if welcome is None:
                    findings.append(
                        self._missing(ctx, "welcome", opts.welcome_subject, recipient, "confirming")
                    )
                else:
                    findings += self._late(ctx, "welcome", welcome, clicked_at, "confirming")
                    messages["welcome"] = welcome
        inspected, checked = await _inspect(ctx, messages, opts, skip=opened)
        outputs |= {
            "message_uids": [m.uid for m in messages.values()],
            "links": [c.as_json() for c in checked],
        }
        return CheckResult(findings=findings + inspected, outputs=outputs, stats={"links": len(checked)})

    def _confirm_link(self, msg: Message) -> Link | None:
        pattern = compile_pattern(self.options.confirm_link)
        links = [link for link in msg.links() if link.kind == "link"]
        return next((lk for lk in links if pattern.search(lk.url) or pattern.search(lk.text)), None)

    async def _open(self, ctx: CheckContext, link: Link) -> Finding | None:
        """GET the confirmation link once, following redirects; a dead one is `email_broken_link`."""
        from auditor.crawl.linkcheck import check_urls

        verdict = (await check_urls([link.url], site=ctx.site, method="GET"))[link.url]
        if not verdict.broken and (verdict.status or 0) < 400:
            return None
        return finding(
            "email_broken_link",
            Severity.ERROR,
            link.url,
            "confirmation",
            f"The confirmation link {link.url} is dead: {verdict.describe()}. The subscriber cannot "
            "confirm; fix the link or the page it points to.",
            key=f"link\x1f{link.text}",
            text=link.text,
            **verdict.evidence(),
        )

    def _missing(self, ctx: CheckContext, name: str, subject: str, recipient: str, after: str) -> Finding:
        return finding(
            "email_missing",
            Severity.ERROR,
            ctx.base_url,
            name,
            f"No {name} email (subject matching {subject!r}) reached {recipient} within "
            f"{self.options.deadline_s:g} s of {after}. Check the newsletter's mail settings.",
            recipient=recipient,
        )

    def _late(self, ctx: CheckContext, name: str, msg: Message, since: datetime, after: str) -> list[Finding]:
        latency = (msg.received_at - since).total_seconds()
        late = lateness(name, latency, self.options.limit_s, math.inf, ctx.base_url, after)
        return [late] if late else []

"""The `email` check kind: the emails a purchase should send arrive, once, in time, and read right.

A purchase scenario records the mailbox position before it starts (`mail_cursor`), the customer's
own address and the moment it submitted the payment. This check waits (polling with backoff) for
each expected message to that address after that position, then reports what a customer would
notice: no email, a late one, two copies, `Hi {{ first_name }}`, a dead link, or another order's
number or total. Latency is measured from the payment, not from the check's start.

It runs even when the scenario failed after paying (`tolerates_failed_needs`): a thank-you page may
break although the order went through and its email is sent. When the payment was never
submitted there is no email to expect, and the check is skipped with that reason.

What any email can have wrong (late, merge tags, dead links) is judged by auditor/checks/inbox.py,
shared with the `contact-form` and `newsletter` checks.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    wait_unless_refused,
)
from auditor.mail.mailbox import Cursor, Mailbox, Refusal, refused_for
from auditor.mail.message import Message
from auditor.mail.render import html_to_text
from auditor.registry import register
from auditor.results import CheckResult, Finding, Severity, Status
from auditor.scrub import Scrubber, keyring_of

# Placeholders a pattern may use; each is replaced by the escaped value from the scenario outputs.
PLACEHOLDERS = ("order_number", "order_total", "first_name", "email")
_AMOUNT = re.compile(r"\d[\d,.' \u00a0]*\d|\d")


def _fill(pattern: str, values: Mapping[str, str]) -> str:
    """`pattern` with each `{placeholder}` replaced by its escaped value."""
    for key in PLACEHOLDERS:
        pattern = pattern.replace("{" + key + "}", re.escape(values.get(key, "")))
    return pattern


def _check_regexes(value: list[str]) -> list[str]:
    for pattern in value:
        compile_pattern(_fill(pattern, dict.fromkeys(PLACEHOLDERS, "x")))
    return value


class ExpectedMessage(BaseModel):
    """One email the purchase should send: how to recognise it, and how many copies are right."""

    model_config = ConfigDict(extra="forbid")

    # The message's name in findings and outputs (unique).
    name: str = Field(min_length=1)
    # Regexes (case-insensitive); `{order_number}`, `{order_total}`, `{first_name}`, `{email}` are
    # replaced by the scenario's values (escaped).
    subject: str
    # Regexes the text (the text part, or the HTML as text) must all match.
    body: list[str] = []
    # How many copies are right; more is `email_duplicate`.
    count: int = Field(1, ge=1)
    # A missing required message is `email_missing`; an optional one is only inspected when present.
    required: bool = True
    # Whether the message must state the order number and total the thank-you page showed.
    order_details: bool = True

    @field_validator("subject")
    @classmethod
    def _subject_compiles(cls, value: str) -> str:
        _check_regexes([value])
        return value

    @field_validator("body")
    @classmethod
    def _body_compiles(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)


# Without `messages`: the order confirmation, known by its order number (by the word "order" when the
# scenario broke before the thank-you page showed the number).
DEFAULT_MESSAGE = ExpectedMessage(name="confirmation", subject="{order_number}")
DEFAULT_MESSAGE_NO_NUMBER = ExpectedMessage(name="confirmation", subject=r"\border\b")


class EmailOptions(LinkOptions):
    """Which purchase's emails to wait for, what they look like, and how long they may take."""

    # The needed check whose outputs hold the purchase; default: the one needed check with a customer.
    scenario: str | None = None
    # The emails the purchase should send (name, subject, body, count, required, order_details); default:
    # one `confirmation` whose subject holds the order number.
    messages: list[ExpectedMessage] = []
    # How long after the payment to wait for the required messages.
    deadline_s: float = Field(600.0, ge=0)
    # An email later than this after the payment is `email_late` (warning).
    soft_limit_s: float = Field(120.0, ge=0)
    # An email later than this after the payment is `email_late` (error).
    hard_limit_s: float = Field(600.0, ge=0)
    # Once a message is found, wait this much longer to catch duplicates.
    settle_s: float = Field(10.0, ge=0)

    @model_validator(mode="after")
    def _limits_ordered(self) -> EmailOptions:
        if self.soft_limit_s > self.hard_limit_s:
            raise ValueError(
                f"soft_limit_s ({self.soft_limit_s:g}) must not be above hard_limit_s ({self.hard_limit_s:g})"
            )
        names = [m.name for m in self.messages]
        if len(set(names)) != len(names):
            raise ValueError(f"message names must be unique, got {names}")
        return self


@dataclass(frozen=True)
class Expectation:
    """An `ExpectedMessage` with its patterns filled in from the scenario outputs and compiled."""

    spec: ExpectedMessage
    subject: re.Pattern[str]
    body: tuple[re.Pattern[str], ...]

    def matches_subject(self, msg: Message) -> bool:
        return bool(self.subject.search(msg.subject))

    def matches(self, msg: Message) -> bool:
        text = visible_text(msg)
        return self.matches_subject(msg) and all(p.search(text) for p in self.body)

    def refusal_matches(self, refused: Refusal) -> bool:
        """A refused message is this one when its subject matches (or could not be read)."""
        return not refused.subject or bool(self.subject.search(refused.subject))


def expectations(specs: Sequence[ExpectedMessage], values: Mapping[str, str]) -> list[Expectation]:
    return [
        Expectation(
            s,
            compile_pattern(_fill(s.subject, values)),
            tuple(compile_pattern(_fill(b, values)) for b in s.body),
        )
        for s in specs
    ]


def amounts(text: str) -> set[Decimal]:
    """Every money-like number in `text`: "1,497.00", "497,00", "$497" -> 1497.00, 497.00, 497."""
    found: set[Decimal] = set()
    for m in _AMOUNT.finditer(text):
        raw = m.group(0).strip()
        # The last separator followed by exactly two digits is the decimal point; the others group.
        cents = re.search(r"[.,](\d{2})$", raw)
        whole = re.sub(r"\D", "", raw[: cents.start()] if cents else raw)
        try:
            found.add(Decimal(f"{whole or '0'}.{cents.group(1) if cents else '00'}"))
        except InvalidOperation:
            continue
    return found


def order_problems(msg: Message, order_number: str | None, order_total: str | None) -> list[str]:
    """What of the thank-you page's order number and total the message does not state."""
    text = visible_text(msg)
    problems = []
    if order_number and not re.search(rf"(?<![A-Za-z0-9]){re.escape(order_number)}(?![A-Za-z0-9])", text):
        problems.append(f"the order number {order_number}")
    if order_total:
        expected = amounts(order_total)
        if expected and not expected & amounts(text):
            problems.append(f"the total {order_total}")
    return problems


@register
class EmailCheck(Check[EmailOptions]):
    """The purchase's emails: they arrive, once, in time, with working links and no placeholders.

    Errors: email_missing, email_refused (the mail sink refused it), email_merge_tag, email_broken_link,
    email_wrong_order, email_late (above `hard_limit_s`). Warnings: email_late (above `soft_limit_s`),
    email_duplicate.
    """

    kind = "email"
    Options = EmailOptions
    tolerates_failed_needs: ClassVar[bool] = True

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Wait for every expected message after the scenario's mailbox position, then inspect them."""
        try:
            name, out = pick_outputs(ctx.outputs, self.options.scenario, self.kind)
            paid_at = parse_time(out.get("payment_submitted_at"))
            if paid_at is None:
                return CheckResult(
                    status=Status.SKIP,
                    message=f"{name} never submitted a payment, so no order email is expected",
                )
            if unconfirmed := _unconfirmed(name, out):
                return CheckResult(status=Status.SKIP, message=unconfirmed)
            mailbox, cursor, recipient = await mailbox_for(ctx, name, out)
        except NotUsable as e:
            return CheckResult(status=Status.ERROR, message=str(e))
        values = {k: str(out.get(k) or "") for k in ("order_number", "order_total")}
        customer = out["customer"]
        values |= {"first_name": str(customer.get("first_name") or ""), "email": recipient}
        default = DEFAULT_MESSAGE if values["order_number"] else DEFAULT_MESSAGE_NO_NUMBER
        expected = expectations(self.options.messages or [default], values)
        found = await self._wait(mailbox, recipient, cursor, expected, paid_at)
        ctx.progress(messages=sum(len(m) for m in found.values()))
        findings: list[Finding] = []
        thank_you = out.get("thank_you_url")
        for exp in expected:
            msgs = found[exp.spec.name]
            findings += await self._judge(exp, msgs, paid_at, ctx.base_url, out, mailbox, recipient, cursor)
        present = {n: m for n, m in found.items() if m}
        if self.options.merge_tags:
            for n, msgs in present.items():
                findings += merge_tag_findings(n, msgs, ctx.base_url, self.options.ignore_merge_tags)
        checked = await check_links(ctx, present, self.options)
        findings += link_findings(checked)
        scrubber = Scrubber.for_site(ctx.site, keyring_of(ctx.resources).values())
        for f in findings:
            f.source = thank_you if isinstance(thank_you, str) else None
            # The report shows the email itself next to what is wrong with it.
            if shown := present.get(str(f.evidence.get("message"))):
                f.evidence["email"] = shown_email(
                    shown[0], [c for c in checked if c.message == f.evidence["message"]], scrubber
                )
        return CheckResult(
            findings=findings,
            outputs=self._outputs(name, found, paid_at, checked),
            stats={"messages": sum(len(m) for m in found.values()), "links": len(checked)},
        )

    async def _wait(
        self,
        mailbox: Mailbox,
        recipient: str,
        cursor: Cursor,
        expected: Sequence[Expectation],
        paid_at: datetime,
    ) -> dict[str, list[Message]]:
        """Wait for the required messages together; the optional ones get one look afterwards
        (or the whole deadline when nothing is required)."""
        opts = self.options
        left = remaining(paid_at, opts.deadline_s, datetime.now(UTC))
        required = [e for e in expected if e.spec.required] or list(expected)
        optional = [e for e in expected if e not in required]

        async def wait(e: Expectation, timeout_s: float) -> list[Message]:
            # A message the sink refused never arrives: its email_refused needs no full deadline.
            return await wait_unless_refused(
                mailbox,
                recipient,
                cursor,
                match=e.matches,
                refusal_matches=e.refusal_matches,
                count=e.spec.count,
                timeout_s=timeout_s,
                settle_s=opts.settle_s,
            )

        got = await asyncio.gather(*(wait(e, left) for e in required))
        got += await asyncio.gather(*(wait(e, 0.0) for e in optional))
        return {e.spec.name: msgs for e, msgs in zip([*required, *optional], got, strict=True)}

    async def _judge(
        self,
        exp: Expectation,
        msgs: list[Message],
        paid_at: datetime,
        base_url: str,
        out: Mapping[str, Any],
        mailbox: Mailbox,
        recipient: str,
        cursor: Cursor,
    ) -> list[Finding]:
        opts, spec = self.options, exp.spec
        if not msgs:
            if not spec.required:
                return []
            return [await self._missing(exp, mailbox, recipient, cursor, base_url)]
        findings: list[Finding] = []
        latency = (msgs[0].received_at - paid_at).total_seconds()
        late = lateness(spec.name, latency, opts.soft_limit_s, opts.hard_limit_s, base_url, "the payment")
        if late:
            findings.append(late)
        if len(msgs) > spec.count:
            findings.append(
                finding(
                    "email_duplicate",
                    Severity.WARNING,
                    base_url,
                    spec.name,
                    f"The {spec.name} email arrived {len(msgs)} times (expected {spec.count}): "
                    f"{msgs[0].subject!r}. Make the shop send it once per order.",
                    count=len(msgs),
                    expected=spec.count,
                    message_ids=[m.message_id for m in msgs],
                )
            )
        if spec.order_details:
            order_number, total = _text(out.get("order_number")), _text(out.get("order_total"))
            problems = order_problems(msgs[0], order_number, total)
            if problems:
                findings.append(
                    finding(
                        "email_wrong_order",
                        Severity.ERROR,
                        base_url,
                        spec.name,
                        f"The {spec.name} email does not state {' or '.join(problems)} that the thank-you "
                        "page showed. Fix the template (or set order_details = false for an email that "
                        "does not carry the order).",
                        order_number=order_number,
                        order_total=total,
                        subject=msgs[0].subject,
                    )
                )
        return findings

    async def _missing(
        self, exp: Expectation, mailbox: Mailbox, recipient: str, cursor: Cursor, base_url: str
    ) -> Finding:
        """`email_missing`, saying what did arrive: a near miss (subject right, body not) says most.
        `email_refused` when the mailbox's own server refused it (its subject matches, or is unknown)."""
        arrived = await mailbox.fetch(recipient, cursor)
        near = [m for m in arrived if exp.matches_subject(m)]
        spec = exp.spec
        refused = [r for r in await refused_for(mailbox, recipient, cursor) if exp.refusal_matches(r)]
        if refused:
            subject = f" (subject {refused[0].subject!r})" if refused[0].subject else ""
            return finding(
                "email_refused",
                Severity.ERROR,
                base_url,
                spec.name,
                f"The shop sent the {spec.name} email to {recipient}{subject}, but auditor's mail sink "
                f"refused it: {refused[0].reason}. Make the shop's email smaller or well-formed, or raise "
                "`max_message_mb` in [sites.NAME.mailbox] if the sink's limit is too low for it.",
                recipient=recipient,
                reasons=[r.reason for r in refused],
                subjects=[r.subject for r in refused],
            )
        hint = ""
        if near:
            hint = (
                f" {len(near)} message(s) with a matching subject arrived, but their body lacks "
                + ", ".join(repr(p.pattern) for p in exp.body if not p.search(visible_text(near[0])))
                + "."
            )
        elif arrived:
            hint = " Other messages arrived: " + "; ".join(repr(m.subject) for m in arrived[:5]) + "."
        return finding(
            "email_missing",
            Severity.ERROR,
            base_url,
            spec.name,
            f"No {spec.name} email (subject matching {exp.subject.pattern!r}) reached {recipient} within "
            f"{self.options.deadline_s:g} s of the payment.{hint} Check the shop's mail settings and logs.",
            recipient=recipient,
            subject_pattern=exp.subject.pattern,
            arrived=[m.subject for m in arrived],
        )

    def _outputs(
        self,
        scenario: str,
        found: Mapping[str, Sequence[Message]],
        paid_at: datetime,
        checked: Sequence[CheckedLink],
    ) -> dict[str, Any]:
        messages = {
            name: {
                "subject": msgs[0].subject if msgs else None,
                "received_at": msgs[0].received_at.isoformat() if msgs else None,
                "latency_s": round((msgs[0].received_at - paid_at).total_seconds(), 3) if msgs else None,
                "count": len(msgs),
                "uids": [m.uid for m in msgs],
                "links": [c.as_json() for c in checked if c.message == name],
            }
            for name, msgs in found.items()
        }
        return {
            "scenario": scenario,
            "messages": messages,
            "message_uids": [m.uid for msgs in found.values() for m in msgs],
            "links": [c.as_json() for c in checked],
        }


# An email's text is kept in a finding up to this many characters.
EMAIL_TEXT_CHARS = 4000


def shown_email(msg: Message, links: Sequence[CheckedLink], scrubber: Scrubber) -> dict[str, Any]:
    """What a report shows of `msg`: subject, sender, time, text part (cut, secrets masked), links."""
    text = scrubber.text(msg.text or html_to_text(msg.html))
    return {
        "subject": scrubber.text(msg.subject),
        "from": msg.sender,
        "received_at": msg.received_at.isoformat(),
        "text": text[:EMAIL_TEXT_CHARS],
        "text_cut": max(0, len(text) - EMAIL_TEXT_CHARS),
        "links": [c.as_json() for c in links[:100]],
    }


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _unconfirmed(name: str, out: Mapping[str, Any]) -> str:
    """Why no order email is to be expected although a payment was submitted ("" if one is).

    A page that said "declined", or a pay step that failed before the page said anything, is not
    an order the shop confirms; whether money was taken anyway is the `payment` check's finding.
    """
    result = out.get("payment_result")
    if result is not None and result != "approved":
        return f"the page said the payment of {name} was {result}, so no order email is expected"
    if result is None and out.get("failed_step"):
        return (
            f"{name} failed at step '{out['failed_step']}' before the page confirmed the payment, "
            "so no order email is expected (the payment check reconciles what was charged)"
        )
    return ""

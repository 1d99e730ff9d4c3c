"""Reading and inspecting a run's emails: what the `email`, `contact-form` and `newsletter` checks share.

Which needed scenario holds the customer, the mailbox and the position it recorded, and the findings
any email can have whatever it is for: late, unrendered merge tags, dead links and images. Each
finding's `key` starts with the message's name (not its per-run subject or order number), so the
same problem in the next run has the same fingerprint.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from auditor.check import CheckContext
from auditor.config import Regexes
from auditor.mail.content import find_merge_tags
from auditor.mail.mailbox import (
    FIRST_POLL_S,
    MAX_POLL_S,
    Cursor,
    Mailbox,
    RecordsRefusals,
    Refusal,
    refused_for,
    wait_for,
)
from auditor.mail.message import Link, Message
from auditor.mail.render import html_to_text
from auditor.results import Finding, Severity

if TYPE_CHECKING:  # the link checker (httpx, aiohttp) loads when links are checked, not with a config
    from auditor.crawl.linkcheck import LinkVerdict


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A case-insensitive regex; raises ValueError naming the pattern when it does not compile."""
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise ValueError(f"bad regex {pattern!r}: {e}") from e


class LinkOptions(BaseModel):
    """What every email check does with a message's content besides waiting for it."""

    model_config = ConfigDict(extra="forbid")

    # Check every link and image of the emails (HEAD, then GET, as the crawl does).
    check_links: bool = True
    # Look for unrendered merge tags ({{ first_name }}, *|FNAME|*, ...) in what the reader sees.
    merge_tags: bool = True
    # Regexes: links whose URL matches any of them are not checked (tracking pixels, unsubscribe).
    ignore_links: Regexes = []
    # Regexes: placeholders they match in full are meant to be there ("[SALE]" in a subject).
    ignore_merge_tags: Regexes = []


class NotUsable(ValueError):
    """The check cannot run as configured; the message says what to change."""


def pick_outputs(
    outputs: Mapping[str, Mapping[str, Any]],
    named: str | None,
    kind: str,
    *,
    option: str = "scenario",
    need: str = "a scenario check in its `needs` whose customer receives the emails",
) -> tuple[str, Mapping[str, Any]]:
    """The needed scenario's name and outputs: the one the `option` names, or the only needed one
    with a customer. `need` says, in the error, what the `kind` check needs when there is none."""
    if named is not None:
        if named not in outputs:
            have = ", ".join(sorted(outputs)) or "none"
            raise NotUsable(
                f"option `{option}` names {named!r}, which is not among this check's `needs` "
                f"(needed checks: {have}); add it to `needs`"
            )
        return named, outputs[named]
    chosen = [(n, o) for n, o in outputs.items() if isinstance(o.get("customer"), Mapping)]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise NotUsable(f"the {kind} check needs {need}")
    names = ", ".join(sorted(n for n, _ in chosen))
    raise NotUsable(f"several needed checks have a customer ({names}): name one with the `{option}` option")


async def mailbox_for(ctx: CheckContext, name: str, out: Mapping[str, Any]) -> tuple[Mailbox, Cursor, str]:
    """The site's mailbox, the position the scenario recorded, and the customer's address."""
    mailbox: Mailbox | None = await ctx.resources.mailbox()
    if mailbox is None:
        raise NotUsable(
            f"the site {ctx.site_name or ctx.base_url} has no mailbox: add [sites.{ctx.site_name or '<site>'}"
            '.mailbox] (kind = "sink" with the shop\'s SMTP pointed at it, or kind = "imap") so the emails '
            "can be read"
        )
    raw = out.get("mail_cursor")
    if not isinstance(raw, Mapping):
        raise NotUsable(
            f"the outputs of {name!r} hold no mailbox position (`mail_cursor`); it must be a `scenario` "
            "check run with the site's mailbox configured"
        )
    customer = out.get("customer")
    email = customer.get("email") if isinstance(customer, Mapping) else None
    if not isinstance(email, str) or not email:
        raise NotUsable(f"the outputs of {name!r} have no `customer.email`, so its emails cannot be found")
    return mailbox, Cursor.from_dict(dict(raw)), email


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 time from scenario outputs, or None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


async def wait_unless_refused(
    mailbox: Mailbox,
    recipient: str,
    since: Cursor,
    *,
    match: Callable[[Message], bool],
    refusal_matches: Callable[[Refusal], bool],
    count: int = 1,
    timeout_s: float,
    settle_s: float = 0.0,
) -> list[Message]:
    """`wait_for`, ended early when the mailbox records that it refused a message `refusal_matches`
    for `recipient` (the sink's size limit, an unparseable message): that message will never arrive,
    so waiting the whole deadline only delays the `email_refused` finding. Returns what arrived by then.
    """
    waiting = asyncio.ensure_future(
        wait_for(mailbox, recipient, since, match=match, count=count, timeout_s=timeout_s, settle_s=settle_s)
    )
    if timeout_s <= 0 or not isinstance(mailbox, RecordsRefusals):
        return await waiting
    watching = asyncio.ensure_future(_refusal_seen(mailbox, recipient, since, refusal_matches, timeout_s))
    try:
        await asyncio.wait({waiting, watching}, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done() or not watching.result():
            return await waiting
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    return [m for m in await mailbox.fetch(recipient, since) if match(m)]


async def _refusal_seen(
    mailbox: Mailbox, recipient: str, since: Cursor, matches: Callable[[Refusal], bool], timeout_s: float
) -> bool:
    """Poll (as `wait_for` does) until a matching refusal is recorded (True) or `timeout_s` passed."""
    deadline = time.monotonic() + timeout_s
    delay = FIRST_POLL_S
    while True:
        if any(matches(r) for r in await refused_for(mailbox, recipient, since)):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 2, MAX_POLL_S)


def remaining(since: datetime, limit_s: float, now: datetime) -> float:
    """Seconds left of `limit_s` counted from `since` (never negative: then one last look)."""
    return max(0.0, limit_s - (now - since).total_seconds())


def finding(
    kind: str, severity: Severity, url: str, name: str, message: str, *, key: str = "", **evidence: Any
) -> Finding:
    """A finding of an email check; `key` starts with the message name so fingerprints stay stable."""
    return Finding(
        kind=kind,
        severity=severity,
        url=url,
        key=f"{name}\x1f{key}" if key else name,
        element=f"email {name}",
        message=message,
        evidence={"message": name, **evidence},
    )


def lateness(
    name: str, latency_s: float, soft_s: float, hard_s: float, base_url: str, since: str
) -> Finding | None:
    """`email_late` (warning above `soft_s`, error above `hard_s`), or None when in time."""
    if latency_s <= soft_s:
        return None
    severity = Severity.ERROR if latency_s > hard_s else Severity.WARNING
    limit = hard_s if severity == Severity.ERROR else soft_s
    return finding(
        "email_late",
        severity,
        base_url,
        name,
        f"The {name} email arrived {latency_s:.0f} s after {since}, above the limit of {limit:g} s. "
        "Check the shop's mail queue and its sending provider.",
        latency_s=round(latency_s, 3),
        soft_limit_s=soft_s,
        hard_limit_s=hard_s,
    )


def merge_tag_findings(
    name: str, messages: Sequence[Message], base_url: str, ignore: Sequence[str] = ()
) -> list[Finding]:
    """One `email_merge_tag` per distinct unrendered token in the messages, with where it stood;
    a token that one of the `ignore` regexes matches in full is not reported."""
    allowed = [re.compile(pattern) for pattern in ignore]
    found: dict[str, Finding] = {}
    for msg in messages:
        for tag in find_merge_tags(msg):
            if any(a.fullmatch(tag.token) for a in allowed):
                continue
            f = found.get(tag.token)
            if f is None:
                found[tag.token] = finding(
                    "email_merge_tag",
                    Severity.ERROR,
                    base_url,
                    name,
                    f"The {name} email shows an unrendered placeholder {tag.token!r} ({tag.part}: "
                    f"{tag.context!r}). Fix the email template or the data it is given.",
                    key=tag.token,
                    token=tag.token,
                    parts=[tag.part],
                    context=tag.context,
                    subject=msg.subject,
                )
            elif tag.part not in f.evidence["parts"]:
                f.evidence["parts"].append(tag.part)
    return list(found.values())


@dataclass(frozen=True)
class CheckedLink:
    """A link of a message and the verdict on it (None when ignored or link checking is off)."""

    message: str
    link: Link
    verdict: LinkVerdict | None

    def as_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "message": self.message,
            "url": self.link.url,
            "text": self.link.text,
            "kind": self.link.kind,
            "part": self.link.source,
            "verdict": v.verdict if v else "unchecked",
            "status": v.status if v else None,
        }


async def check_links(
    ctx: CheckContext, by_message: Mapping[str, Sequence[Message]], opts: LinkOptions
) -> list[CheckedLink]:
    """Every link and image of the messages, each distinct URL fetched once (as the crawler would)."""
    ignore = [compile_pattern(p) for p in opts.ignore_links]
    links = [
        (name, link)
        for name, msgs in by_message.items()
        for link in _unique_links(msgs)
        if not any(p.search(link.url) for p in ignore)
    ]
    verdicts: dict[str, LinkVerdict] = {}
    if opts.check_links and links:
        from auditor.crawl.linkcheck import check_urls

        verdicts = await check_urls([link.url for _, link in links], site=ctx.site)
    return [CheckedLink(name, link, verdicts.get(link.url)) for name, link in links]


def _unique_links(messages: Sequence[Message]) -> list[Link]:
    seen: dict[tuple[str, str], Link] = {}
    for msg in messages:
        for link in msg.links():
            seen.setdefault((link.url, link.kind), link)
    return list(seen.values())


def link_findings(checked: Sequence[CheckedLink]) -> list[Finding]:
    """One `email_broken_link` per message and dead URL (a text and an HTML copy are one finding)."""
    out: dict[tuple[str, str], Finding] = {}
    for c in checked:
        v = c.verdict
        if v is None or not v.broken:
            continue
        f = out.get((c.message, c.link.url))
        if f is not None:
            f.evidence["parts"] = sorted({*f.evidence["parts"], c.link.source})
            continue
        what = "image" if c.link.kind == "image" else "link"
        label = f" {c.link.text!r}" if c.link.text else ""
        problem = c.link.problem if v.verdict == "malformed" else None
        if problem and not problem.startswith("it is a relative link"):
            # Not a URL at all (http://[bad): reported as the crawler reports it on a page.
            out[(c.message, c.link.url)] = finding(
                "malformed_link",
                Severity.WARNING,
                c.link.url,
                c.message,
                f"The {c.message} email's {what}{label} ({c.link.url!r}) cannot be opened: {problem}. "
                "Correct the link in the email template.",
                key=f"{c.link.kind}\x1f{c.link.text}",
                text=c.link.text,
                link_kind=c.link.kind,
                parts=[c.link.source],
                verdict="malformed",
                problem=problem,
            )
            continue
        out[(c.message, c.link.url)] = finding(
            "email_broken_link",
            Severity.ERROR,
            c.link.url,
            c.message,
            f"The {c.message} email's {what}{label} ({c.link.url}) is dead: {v.describe()}. "
            "Fix the link in the email template or the page it points to.",
            key=f"{c.link.kind}\x1f{c.link.text}",
            text=c.link.text,
            link_kind=c.link.kind,
            parts=[c.link.source],
            **v.evidence(),
        )
    return list(out.values())


def visible_text(msg: Message) -> str:
    """What a reader sees: the subject, the text part and the HTML part rendered to text."""
    return "\n".join([msg.subject, msg.text, html_to_text(msg.html) if msg.html else ""])

"""One received email, parsed once into what the checks read: who, when, subject, text, HTML, links.

Parsing uses the standard library's `email` package with `policy.default` (RFC 5322/6532, decoded
headers). Real mail is messy, so nothing here raises on a malformed message: an unknown charset is
decoded leniently, an unparsable date becomes None, a broken address header yields no address.

Links are read as a mail client reads them: quoted-printable soft line breaks are joined (by the
`email` package, when the part declares it) and so are `format=flowed` soft line breaks (RFC 3676);
HTML entities are decoded, in attributes (`href="...&#x3D;..."`) and in the URLs of a text part a
template escaped as HTML; tabs and newlines inside an `href` are dropped, as browsers drop them.
A URL that cannot be opened at all is kept, with its `problem`, for the check to report.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Literal

from selectolax.lexbor import LexborHTMLParser

from auditor.crawl.urls import MalformedURL, normalise, resolve
from auditor.mail.render import html_to_text

# Headers naming who a message was delivered to, besides To and Cc (set by the receiving MTA).
_DELIVERY_HEADERS = ("to", "cc", "delivered-to", "x-original-to")
# Links nobody can fetch: they open an app, run script, or point inside the message itself.
_NOT_FETCHABLE = ("mailto:", "tel:", "sms:", "javascript:", "data:", "cid:", "about:")
_TEXT_URL = re.compile(r"""https?://[^\s<>"'`{}|\\^\[\]]+""", re.IGNORECASE)
_TRAILING = ".,;:!?'\""
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Link:
    """A link or image of an email: its URL as written, its text (or alt), where it was found."""

    url: str
    text: str
    source: Literal["html", "text"]
    kind: Literal["link", "image"]

    @property
    def problem(self) -> str | None:
        """Why no mail client can open this link (a malformed or a relative URL), or None."""
        return url_problem(self.url)


def url_problem(url: str) -> str | None:
    """Why a link in an email cannot be opened, or None when it is an absolute URL that parses."""
    try:
        if url[:8].lower().startswith(("http://", "https://")):
            normalise(url)
            return None
        absolute = resolve("http://mail.invalid/", url)
    except MalformedURL as e:
        return str(e)
    if absolute.startswith("http://mail.invalid/"):
        return "it is a relative link, and an email has no page to resolve it against"
    return None


@dataclass(frozen=True)
class Message:
    """One email as a customer received it. Addresses are lower-cased; times are aware UTC."""

    uid: str
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    sent_at: datetime | None
    received_at: datetime
    text: str
    html: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), decoded, or None."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def is_for(self, address: str) -> bool:
        """Whether `address` is exactly one of the recipients (case-insensitive, no substring match)."""
        return address.strip().lower() in self.recipients

    def links(self) -> list[Link]:
        """Every link and image of the HTML part, then every URL of the text part, each once.

        `mailto:`, `tel:`, `javascript:`, `data:` and `cid:` links are left out (nothing to fetch);
        relative URLs are kept as written, for the caller to resolve or report.
        """
        seen: set[tuple[str, str]] = set()
        out: list[Link] = []
        for link in [*_html_links(self.html), *_text_links(self.text)]:
            key = (link.url, link.kind)
            if key not in seen:
                seen.add(key)
                out.append(link)
        return out


def parse_message(
    raw: bytes, received_at: datetime, uid: str, envelope_recipients: Iterable[str] = ()
) -> Message:
    """Parse `raw` (RFC 5322 bytes) into a Message; `envelope_recipients` are the SMTP RCPT TOs if known."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)  # policy.default always builds EmailMessage
    headers = _headers(msg)
    html = _body(msg, "html")
    text = _body(msg, "plain")
    if not text and html:
        text = html_to_text(html)
    return Message(
        uid=uid,
        message_id=_first(headers, "message-id").strip(),
        sender=next(iter(_addresses([_first(headers, "from")])), ""),
        recipients=_unique([*(a.strip().lower() for a in envelope_recipients), *_header_addresses(headers)]),
        subject=_first(headers, "subject"),
        sent_at=_date(_first(headers, "date")),
        received_at=received_at.astimezone(UTC),
        text=text,
        html=html,
        headers=headers,
        raw=raw,
    )


def _headers(msg: EmailMessage) -> tuple[tuple[str, str], ...]:
    """Every header, decoded; one that cannot be parsed keeps its raw text."""
    out: list[tuple[str, str]] = []
    for name, raw in msg.raw_items():
        try:
            value = str(msg.policy.header_fetch_parse(name, raw))
        except Exception:  # a malformed header must not lose the whole message
            value = str(raw)
        out.append((name, value))
    return tuple(out)


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _header_addresses(headers: tuple[tuple[str, str], ...]) -> list[str]:
    return _addresses(v for k, v in headers if k.lower() in _DELIVERY_HEADERS)


def _addresses(values: Iterable[str]) -> list[str]:
    """The addr-specs in address header values, lower-cased; anything without an @ is dropped."""
    found: list[str] = []
    for value in values:
        try:
            pairs = getaddresses([value])
        except Exception:  # getaddresses is lenient, but a pathological header must not stop parsing
            continue
        found.extend(addr.strip().lower() for _, addr in pairs if "@" in addr)
    return found


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" means "UTC, origin unknown" and parses naive.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _body(msg: EmailMessage, subtype: str) -> str:
    """The text of the message's preferred text/`subtype` body part, or "" when there is none."""
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: decode leniently
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    # SMTP's CRLF line ends are transport; a check's patterns should see plain newlines.
    content = content.replace("\r\n", "\n")
    if subtype == "plain" and str(part.get_param("format", "")).lower() == "flowed":
        content = _unflow(content, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    return content


def _unflow(text: str, *, delsp: bool) -> str:
    """A `format=flowed` text as a mail client shows it: a line ending in a space goes on."""
    out: list[str] = []
    pending = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing (RFC 3676 4.4)
        if line.endswith(" ") and line != "-- ":
            pending += line[:-1] if delsp else line
        else:
            out.append(pending + line)
            pending = ""
    if pending:
        out.append(pending)
    return "\n".join(out)


def _html_links(html: str) -> list[Link]:
    if not html.strip():
        return []
    out: list[Link] = []
    for node in LexborHTMLParser(html).css("a[href], img[src]"):
        is_link = node.tag == "a"
        url = (node.attributes.get("href" if is_link else "src") or "").strip()
        if "\n" in url or "\t" in url or "\r" in url:
            # A mailer wrapping a long line inside an href: browsers drop tabs and newlines in URLs.
            url = url.replace("\n", "").replace("\t", "").replace("\r", "")
        text = node.text(deep=True, separator=" ") if is_link else node.attributes.get("alt")
        if url and url != "#" and not url.lower().startswith(_NOT_FETCHABLE):
            out.append(
                Link(url, _SPACES.sub(" ", text or "").strip(), "html", "link" if is_link else "image")
            )
    return out


def _text_links(text: str) -> list[Link]:
    out: list[Link] = []
    for m in _TEXT_URL.finditer(text):
        url = m.group(0)
        if "&" in url:
            # A text part rendered by an HTML-escaping template: `&amp;` and `&#x3D;` mean & and =.
            url = htmllib.unescape(url)
        url = url.rstrip(_TRAILING)
        # A closing parenthesis belongs to the URL only when the URL opened one: "(see https://x/a)".
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(_TRAILING)
        out.append(Link(url, "", "text", "link"))
    return out

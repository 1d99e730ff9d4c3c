"""Reading a campaign's email file: an .eml (RFC 5322, as the sending tool exports it) or .html.

Nothing here raises on a malformed file: bytes that are not an email are parsed leniently by the
`email` package, an HTML file that is not valid HTML is read as a browser would. What cannot be
read at all (an empty file, no text) is said by `unreadable`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

from auditor.mail.message import Message, parse_message
from auditor.mail.render import html_to_text

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_ANGLE = re.compile(r"<([^<>]+)>")


def load(path: Path) -> Message:
    """The email in `path` (.html/.htm: a body alone; anything else: an .eml)."""
    raw = path.read_bytes()
    now = datetime.now(UTC)
    if path.suffix.lower() in (".html", ".htm"):
        html = raw.decode("utf-8", errors="replace")
        title = _TITLE.search(html)
        return Message(
            uid=path.name,
            message_id="",
            sender="",
            recipients=(),
            subject=" ".join(unescape(title.group(1)).split()) if title else "",
            sent_at=None,
            received_at=now,
            text=html_to_text(html),
            html=html,
            headers=(),
            raw=raw,
        )
    return parse_message(raw, now, path.name)


def unreadable(msg: Message) -> str | None:
    """Why the file holds no email to check, or None."""
    if not msg.raw.strip():
        return "the file is empty"
    if not (msg.text.strip() or msg.html.strip()):
        return "no text or HTML body could be read from it"
    return None


def list_unsubscribe(msg: Message) -> tuple[list[str], bool]:
    """The http(s) URLs of the List-Unsubscribe header, and whether the header is there at all."""
    value = msg.header("list-unsubscribe")
    if value is None:
        return [], False
    urls = [u.strip() for u in _ANGLE.findall(value) if u.strip().lower().startswith(("http://", "https://"))]
    return urls, True

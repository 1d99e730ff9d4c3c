"""Mailboxes: where a run's emails are read from (the built-in SMTP sink, or IMAP), and what is in them.

The names load on first use, so `auditor.config` can import the mailbox settings without pulling in
aiosmtpd, imap-tools and the database layer at every start of the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.mail.config import ImapMailboxConfig, MailboxConfig, SinkMailboxConfig, open_mailbox
    from auditor.mail.content import MergeTag, find_merge_tags
    from auditor.mail.imap import ImapMailbox
    from auditor.mail.mailbox import Cursor, Mailbox, MailboxError, wait_for
    from auditor.mail.message import Link, Message, parse_message
    from auditor.mail.render import html_to_text
    from auditor.mail.sink import MailSink, SinkMailbox, serve_sink

_HOMES = {
    "auditor.mail.config": ("ImapMailboxConfig", "MailboxConfig", "SinkMailboxConfig", "open_mailbox"),
    "auditor.mail.content": ("MergeTag", "find_merge_tags"),
    "auditor.mail.imap": ("ImapMailbox",),
    "auditor.mail.mailbox": ("Cursor", "Mailbox", "MailboxError", "wait_for"),
    "auditor.mail.message": ("Link", "Message", "parse_message"),
    "auditor.mail.render": ("html_to_text",),
    "auditor.mail.sink": ("MailSink", "SinkMailbox", "serve_sink"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "Cursor",
    "ImapMailbox",
    "ImapMailboxConfig",
    "Link",
    "MailSink",
    "Mailbox",
    "MailboxConfig",
    "MailboxError",
    "MergeTag",
    "Message",
    "SinkMailbox",
    "SinkMailboxConfig",
    "find_merge_tags",
    "html_to_text",
    "open_mailbox",
    "parse_message",
    "serve_sink",
    "wait_for",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME_OF:
        raise AttributeError(f"module 'auditor.mail' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME_OF[name]), name)

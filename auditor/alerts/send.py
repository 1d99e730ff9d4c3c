"""Delivering one message to one channel through Apprise; the only module here that talks to the network.

A channel that fails (bad URL, server down, rejected login) gives a `Delivery` with the reason, it
never raises: an alert that cannot be sent must not turn a finished audit run into a crash.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from auditor.alerts.message import Message
from auditor.alerts.policy import Event

# The longest error text kept per attempt: enough for the reason, not a whole HTML error page.
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Delivery:
    """How one attempt went: `ok`, else the channel's `error`."""

    ok: bool
    error: str | None = None


def _apprise() -> Any:
    """Apprise, imported on first use: it is slow to import."""
    with _quiet():
        import apprise
    return apprise


@contextmanager
def _quiet() -> Iterator[None]:
    # Apprise loads its plugins lazily; some import stdlib modules deprecated in Python 3.11+.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _notify_type(event: Event) -> Any:
    apprise = _apprise()
    return {
        Event.NEW: apprise.NotifyType.FAILURE,
        Event.REMINDER: apprise.NotifyType.WARNING,
        Event.RESOLVED: apprise.NotifyType.SUCCESS,
    }[event]


def send(url: str, event: Event, message: Message, *, attach: bool = True) -> Delivery:
    """Send `message` to the Apprise `url`, attaching its files when asked and the service can."""
    notifier = _apprise().Apprise()
    try:
        with _quiet():
            added = notifier.add(url)
    except Exception as exc:  # Apprise validates URLs in plugin code: anything may come out
        added, reason = False, f" ({type(exc).__name__}: {exc})"
    else:
        reason = ""
    if not added:
        return Delivery(
            False,
            f"not a usable Apprise URL{reason}; check the channel's `url` against "
            "https://github.com/caronc/apprise/wiki (scheme, tokens, required parameters)",
        )
    files = [str(p) for p in message.attachments] if attach else []
    try:
        with _quiet():
            result = notifier.notify(
                body=message.body,
                title=message.title,
                notify_type=_notify_type(event),
                attach=files or None,
            )
    except Exception as exc:
        return Delivery(False, _clip(f"{type(exc).__name__}: {exc}", url))
    if result:
        return Delivery(True)
    return Delivery(False, _clip(_reason(result), url))


def _reason(result: Any) -> str:
    """The errors Apprise logged while sending (Apprise 2 returns them with the result)."""
    logs = getattr(result, "logs", None)
    entries = list(logs()) if callable(logs) else []
    errors = [e.message for e in entries if e.level in ("ERROR", "CRITICAL")]
    warnings = [e.message for e in entries if e.level == "WARNING"]
    text = "; ".join(dict.fromkeys(errors or warnings))
    return text or "the service did not accept the notification (no reason given)"


def _clip(text: str, url: str) -> str:
    # A channel URL carries its credentials (tokens, passwords): never keep it in an error.
    text = " ".join(text.replace(url, "<channel url>").split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."

"""A fake card gateway: test cards approve or decline, and every attempt lands in a ledger.

The ledger is what `/_test/ledger` shows, shaped like a payment provider's charge list: a declined
attempt is still a charge, with status "failed". It lives in memory and is thread-safe, because the
shop may serve requests from several threads and tests read it while the shop runs.

`ledger_page` shapes the answer the way real providers do (the `ledger` behaviour): integer cents
(the default, like Stripe), decimal strings ("497.00"), nested records with JSON numbers, and
paginated lists followed by a `next` URL or a cursor.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

APPROVE = "4242424242424242"
DECLINE = "4000000000000002"


class UnknownCard(ValueError):
    """The card number is not one of the gateway's test cards."""


@dataclass(frozen=True)
class Charge:
    """One attempt to charge a card."""

    id: str
    email: str
    amount: int  # in cents
    currency: str
    status: str  # "succeeded" | "failed"
    captured: bool
    order: str
    created: str  # ISO 8601, UTC

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def as_json(self) -> dict[str, Any]:
        """The charge as the ledger endpoint shows it (without the email, which is the query)."""
        data = asdict(self)
        del data["email"]
        return data


def normalize_card(number: str) -> str:
    """The card number without spaces or dashes, as customers type it."""
    return "".join(ch for ch in number if ch not in " -")


class Gateway:
    """Charges test cards and records every attempt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charges: list[Charge] = []
        self._seq = itertools.count(1)

    def charge(self, *, email: str, amount: int, currency: str, card: str, order: str) -> Charge:
        """Charge `card`; approves 4242..., declines 4000...0002, raises UnknownCard otherwise."""
        number = normalize_card(card)
        if number == APPROVE:
            status = "succeeded"
        elif number == DECLINE:
            status = "failed"
        else:
            raise UnknownCard(number)
        with self._lock:
            charge = Charge(
                id=f"ch_{next(self._seq):04d}{secrets.token_hex(6)}",
                email=email.strip().lower(),
                amount=amount,
                currency=currency,
                status=status,
                # A declined card is never captured; an approved one is captured at once.
                captured=status == "succeeded",
                order=order,
                created=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            self._charges.append(charge)
        return charge

    def all_charges(self) -> list[Charge]:
        """Every charge attempt the gateway has seen, oldest first (a test counts the pay POSTs)."""
        with self._lock:
            return list(self._charges)

    def charges_for(self, email: str) -> list[Charge]:
        """Every charge made with this email, oldest first."""
        wanted = email.strip().lower()
        with self._lock:
            return [c for c in self._charges if c.email == wanted]


# Paginated styles give one charge a page, so that even a single purchase's charges span pages.
PAGE_SIZE = 1


def ledger_page(charges: list[Charge], style: str, email: str, page: str = "") -> dict[str, Any]:
    """The `/_test/ledger` answer for `email`'s charges in `style` (`page`: the page or cursor asked for)."""
    if style == "decimal":
        return {"email": email, "charges": [{**c.as_json(), "amount": _major(c.amount)} for c in charges]}
    if style == "nested":
        return {"data": {"customer": email, "charges": [_nested(c) for c in charges]}}
    if style in ("paginated", "cursor"):
        start = int(page) if page.isdigit() else 0
        chunk = [c.as_json() for c in charges[start : start + PAGE_SIZE]]
        more = start + PAGE_SIZE < len(charges)
        nxt = str(start + PAGE_SIZE) if more else None
        if style == "paginated":
            link = f"/_test/ledger?{urlencode({'email': email, 'page': nxt})}" if nxt else None
            return {"data": chunk, "next": link}
        return {"items": chunk, "meta": {"next_cursor": nxt}}
    return {"email": email, "charges": [c.as_json() for c in charges]}


def _major(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _nested(c: Charge) -> dict[str, Any]:
    """A record as gateway report APIs nest them; the amount a JSON number in major units (497.0)."""
    return {
        "id": c.id,
        "state": c.status.upper(),
        "amount": {"value": float(Decimal(c.amount) / 100), "currency": c.currency},
        "capture": {"captured": c.captured},
        "metadata": {"order": c.order},
        "created": c.created,
    }

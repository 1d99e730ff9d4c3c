"""A fake card gateway: test cards approve or decline, and every attempt lands in a ledger.

The ledger is what `/_test/ledger` shows, shaped like a payment provider's charge list: a declined
attempt is still a charge, with status "failed". It lives in memory and is thread-safe, because the
shop may serve requests from several threads and tests read it while the shop runs.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

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

    def charges_for(self, email: str) -> list[Charge]:
        """Every charge made with this email, oldest first."""
        wanted = email.strip().lower()
        with self._lock:
            return [c for c in self._charges if c.email == wanted]

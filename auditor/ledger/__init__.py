"""Payment ledgers: where the payment check reads the charges a purchase really made.

Each adapter is a `Ledger` (see `auditor.ledger.base`) built from its options model; the options
are a union told apart by `kind`, so `ledger = { kind = "stripe", ... }` in a check's config picks
the adapter and validates its own keys.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from auditor.ledger.amounts import Amount, AmountUnit, exponent, money, parse_amount
from auditor.ledger.base import Charge, Ledger, LedgerError, LedgerFormatError
from auditor.ledger.http import HttpLedger, HttpLedgerOptions
from auditor.ledger.stripe import StripeLedger, StripeLedgerOptions

LedgerOptions = Annotated[HttpLedgerOptions | StripeLedgerOptions, Field(discriminator="kind")]

__all__ = [
    "Amount",
    "AmountUnit",
    "Charge",
    "HttpLedger",
    "HttpLedgerOptions",
    "Ledger",
    "LedgerError",
    "LedgerFormatError",
    "LedgerOptions",
    "StripeLedger",
    "StripeLedgerOptions",
    "exponent",
    "money",
    "parse_amount",
]

"""Money as ledgers give it: integer minor units (Stripe, Adyen), decimal strings ("17.00", most shop
and gateway APIs) and JSON numbers, turned into exact integer minor units with the currency's ISO 4217
exponent (JPY 0, EUR 2, KWD 3). Never a float: JSON is parsed with `parse_float=Decimal`.

An integer alone does not say its unit: `1700` EUR is 17.00 or 1700.00. A decimal string or a number
written with a fraction (`17.0`) can only be major units. What cannot be told apart stays `None` in
`Amount.minor` until the reconciliation decides it against the page's total (or `amount_unit` says).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Literal

from auditor.ledger.base import LedgerFormatError, show_value

AmountUnit = Literal["minor", "major"]

# ISO 4217 minor-unit exponents other than 2 (the default for every other code, and for an unknown one).
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(),  # noqa: SIM905
        0,
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),  # noqa: SIM905
    **dict.fromkeys(("CLF", "UYW"), 4),
}
DEFAULT_EXPONENT = 2
# No test purchase costs a quintillion minor units: beyond this, the field is not an amount.
LIMIT = 10**18
_DECIMAL = re.compile(r"-?[0-9]{1,40}(?:\.[0-9]{1,40})?")


def exponent(currency: str) -> int:
    """The number of decimals of `currency`'s minor unit: 2 unless ISO 4217 says otherwise."""
    return EXPONENTS.get(currency.strip().upper(), DEFAULT_EXPONENT)


@dataclass(frozen=True)
class Amount:
    """An amount as one ledger record gave it.

    `minor` is the amount in minor units when the value says (or `amount_unit` said) which unit it
    is in; None for a bare integer with a currency that has decimals. `value` is the number as given
    and `raw` its text, for messages.
    """

    value: Decimal
    raw: str
    minor: int | None
    exponent: int

    @property
    def readings(self) -> tuple[int, int]:
        """(as minor units, as major units) in minor units: what a bare integer may mean."""
        whole = int(self.value)
        return whole, whole * 10**self.exponent


def parse_amount(value: Any, *, currency: str, unit: AmountUnit | None, where: str) -> Amount:
    """The amount at `where` ("charge ch_1's `amount`") read exactly, or a `LedgerFormatError` that
    shows the value and says which option to set."""
    exp = exponent(currency)
    number, raw, fractional = _number(value, where)
    if not number.is_finite() or abs(number) >= LIMIT:
        raise LedgerFormatError(f"{where} is {show_value(value)}, which is not an amount of money")
    if unit == "minor":
        if fractional:
            raise LedgerFormatError(
                f"{where} is {show_value(value)}, written with decimals, but `amount_unit` is "
                '"minor" (whole numbers of the smallest unit, such as 1700 cents); set '
                'amount_unit = "major" if the ledger gives amounts like 17.00'
            )
        return Amount(number, raw, int(number), exp)
    if unit is None and exp == 0 and not fractional:
        return Amount(number, raw, int(number), exp)
    if unit == "major" or fractional:
        scaled = _scaled(number, exp)
        if scaled != scaled.to_integral_value():
            raise LedgerFormatError(
                f"{where} is {show_value(value)}, which has more decimals than the {exp} of "
                f"{currency or 'the currency (no currency given: 2 assumed)'}; check `currency_field`"
                + ("" if unit else ' and `amount_unit` ("minor" or "major")')
            )
        return Amount(number, raw, int(scaled), exp)
    return Amount(number, raw, None, exp)


def _number(value: Any, where: str) -> tuple[Decimal, str, bool]:
    """(the value, its text, whether it was written with a fraction: "17.00", 17.0)."""
    if isinstance(value, bool) or value is None:
        raise LedgerFormatError(
            f"{where} is {show_value(value)}, not an amount; set `amount_field` to the field that holds "
            "the amount (a dotted path such as amount.value)"
        )
    if isinstance(value, int):
        if abs(value) >= LIMIT:
            raise LedgerFormatError(f"{where} is {show_value(value)}, which is not an amount of money")
        return Decimal(value), str(value), False
    if isinstance(value, Decimal):
        text = str(value)
        return value, text, True
    if isinstance(value, float):
        # Only reachable when a caller parsed JSON without parse_float=Decimal: read its shortest text.
        return _number(str(value), where)
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            try:
                return Decimal(text), text, "." in text
            except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
                pass
        raise LedgerFormatError(
            f"{where} is {show_value(value)}, not a number; the ledger must give amounts as integers "
            '(minor units, such as 1700), decimal strings ("17.00") or JSON numbers; if the amount is '
            "inside this field, point `amount_field` at it"
        )
    kind = "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else "not a number"
    raise LedgerFormatError(
        f"{where} is {kind} ({show_value(value)}), not an amount; point `amount_field` at the number "
        "inside it (e.g. amount.value)"
    )


def written_as_major(raw: str) -> bool:
    """Whether an amount's text can only be major units: "17.00", 17.0, 1E+2 (never a bare integer)."""
    return "." in raw or "E" in raw.upper()


def to_minor(total: Decimal, currency: str) -> int | None:
    """A major-unit total as minor units (497.00 USD -> 49700); None if it has too many decimals."""
    scaled = _scaled(total, exponent(currency))
    return int(scaled) if scaled == scaled.to_integral_value() else None


def _scaled(number: Decimal, exp: int) -> Decimal:
    """`number` times 10**exp, exactly: the default context would round it to 28 digits, and a
    rounded 17.0000...001 would pass for a whole 1700 cents."""
    with localcontext() as ctx:
        ctx.prec = len(number.as_tuple().digits) + exp + 2
        return number.scaleb(exp)


def money(minor: int, currency: str) -> str:
    """49700, "USD" -> "497.00 USD"; 5000, "JPY" -> "5000 JPY"."""
    exp = exponent(currency)
    shown = f"{Decimal(minor).scaleb(-exp):.{exp}f}" if exp else str(minor)
    return f"{shown} {currency}".strip()

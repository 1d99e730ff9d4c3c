"""The `payment` check kind: what the page said about a payment, against the provider's ledger.

A purchase scenario records what the customer saw after each press of the pay button
(`payment_attempts` in its outputs). This check reads the charges the payment provider really holds
for that run's customer and reports the differences a customer would find on their statement: two
charges for one purchase, a charge behind a "declined" page, or goods given away without a charge.

It runs even when the scenario it needs failed (`tolerates_failed_needs`): "the page said declined"
fails the scenario, and that is exactly when the ledger matters. It never touches a payment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.check import Check, CheckContext
from auditor.ledger import Charge, HttpLedgerOptions, LedgerError, LedgerOptions, money
from auditor.ledger.amounts import exponent, to_minor
from auditor.registry import register
from auditor.results import CheckResult, Finding, Severity, Status

APPROVED, DECLINED = "approved", "declined"
# Polling the ledger: first re-read after this, growing by half each time, never slower than MAX.
FIRST_POLL_S, MAX_POLL_S = 0.2, 2.0


class PaymentOptions(BaseModel):
    """Which scenario's purchase to reconcile, where the ledger is, and how long charges may take."""

    model_config = ConfigDict(extra="forbid")

    # The needed check whose outputs hold the purchase; default: every needed check with a customer.
    scenario: str | None = None
    # Where the charges are: kind = "http" (any JSON endpoint; the demo shop's by default) or kind =
    # "stripe".
    ledger: LedgerOptions = Field(default_factory=HttpLedgerOptions)
    # The ledger must show the same charges for this long before it is believed ...
    settle_s: float = Field(3.0, ge=0)
    # ... and is read for at most this long (a charge may reach a real provider late).
    wait_s: float = Field(20.0, gt=0)


@dataclass(frozen=True)
class Attempt:
    """One press of the pay button and what the page answered."""

    result: str  # "approved" | "declined" | anything else the scenario recorded
    message: str = ""
    card_last4: str = ""


@dataclass(frozen=True)
class Purchase:
    """What one scenario's outputs say the customer did and saw."""

    scenario: str
    email: str
    order_number: str | None
    order_total: str | None
    currency: str | None
    attempts: list[Attempt] = field(default_factory=list)
    thank_you_url: str | None = None
    # The step that may have submitted the payment, when the scenario was cut short after it.
    payment_step: str | None = None

    @property
    def approved(self) -> bool:
        return any(a.result == APPROVED for a in self.attempts)

    @property
    def all_declined(self) -> bool:
        return bool(self.attempts) and all(a.result == DECLINED for a in self.attempts)


class NoPurchase(ValueError):
    """The check's needs hold no purchase to reconcile; the message says how to configure one."""


def purchases(outputs: Mapping[str, Mapping[str, Any]], scenario: str | None) -> list[Purchase]:
    """The purchases to reconcile: the named needed check's, or every needed check's with a customer."""
    if scenario is not None:
        if scenario not in outputs:
            have = ", ".join(sorted(outputs)) or "none"
            raise NoPurchase(
                f"option `scenario` names {scenario!r}, which is not among this check's `needs` "
                f"(needed checks: {have}); add it to `needs`"
            )
        chosen = {scenario: outputs[scenario]}
    else:
        chosen = {n: o for n, o in outputs.items() if "customer" in o or "payment_attempts" in o}
    if not chosen:
        raise NoPurchase(
            "the payment check needs a purchase scenario: add a `scenario` check that places an order "
            '(e.g. scenario = "guest-checkout") to this check\'s `needs`'
        )
    return [_purchase(name, out) for name, out in chosen.items()]


def _purchase(name: str, out: Mapping[str, Any]) -> Purchase:
    customer = out.get("customer")
    email = customer.get("email") if isinstance(customer, Mapping) else None
    if not isinstance(email, str) or not email:
        raise NoPurchase(f"the outputs of {name!r} have no `customer.email`, so its charges cannot be found")
    raw = out.get("payment_attempts")
    attempts = [
        Attempt(str(a.get("result", "")), str(a.get("message", "")), str(a.get("card_last4", "")))
        for a in (raw if isinstance(raw, list) else [])
        if isinstance(a, Mapping)
    ]
    if not attempts and out.get("payment_result"):
        attempts = [Attempt(str(out["payment_result"]), str(out.get("payment_message", "")))]
    return Purchase(
        scenario=name,
        email=email,
        order_number=_text(out.get("order_number")),
        order_total=_text(out.get("order_total")),
        currency=_text(out.get("currency")),
        attempts=attempts,
        thank_you_url=_text(out.get("thank_you_url")),
        payment_step=_text(out.get("payment_step")),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


async def settle(
    read: Callable[[], Awaitable[list[Charge]]],
    *,
    expect_charge: bool,
    settle_s: float,
    wait_s: float,
) -> list[Charge]:
    """Read the ledger until it shows the same charges for `settle_s`, or `wait_s` has passed.

    When the page said approved and no charge has succeeded yet, keep reading until `wait_s`:
    a real provider may record the charge seconds after the page answered.
    """
    start = time.monotonic()
    deadline = start + wait_s
    seen: frozenset[tuple[str, str, bool | None]] | None = None
    stable_since = start
    delay = FIRST_POLL_S
    while True:
        charges = await read()
        now = time.monotonic()
        signature = frozenset((c.id, c.status, c.captured) for c in charges)
        if signature != seen:
            seen, stable_since = signature, now
        waiting = expect_charge and not any(c.succeeded for c in charges)
        if now >= deadline or (not waiting and now - stable_since >= settle_s):
            return charges
        wake = min(now + delay, deadline)
        if not waiting:
            wake = min(wake, stable_since + settle_s)
        await asyncio.sleep(max(wake - now, 0.01))
        delay = min(delay * 1.5, MAX_POLL_S)


def reconcile(
    purchase: Purchase, charges: Sequence[Charge], *, base_url: str, waited_s: float
) -> list[Finding]:
    """The differences between what the page said and what the ledger holds (pure; no I/O)."""
    succeeded = [c for c in charges if c.succeeded]
    found: list[tuple[str, str]] = []
    if len(succeeded) > 1:
        found.append(
            (
                "double_charge",
                f"the customer was charged {len(succeeded)} times for one purchase: {_list(succeeded)}. "
                "Refund the extra charges, and make the pay step charge an order once",
            )
        )
    if purchase.all_declined and succeeded:
        said = purchase.attempts[-1].message or "declined"
        found.append(
            (
                "charged_but_declined",
                f"the page said the payment was declined ({said!r}) on every attempt, but the ledger holds "
                f"{len(succeeded)} succeeded charge(s): {_list(succeeded)}. "
                "The customer pays and gets nothing",
            )
        )
    if purchase.approved and not succeeded:
        order = f" for order #{purchase.order_number}" if purchase.order_number else ""
        found.append(
            (
                "approved_without_charge",
                f"the page said the payment was approved{order}, but the ledger holds no succeeded charge "
                f"for {purchase.email} after {waited_s:.0f} s. Either the shop delivers without being "
                "paid, or the payment check's `ledger` does not point at the shop's payment account",
            )
        )
    mismatches, _ = _amount_mismatches(purchase, succeeded)
    found += [("charge_amount_mismatch", m) for m in mismatches]
    return [_finding(purchase, kind, message, charges, base_url) for kind, message in found]


def uncomparable(purchase: Purchase, charges: Sequence[Charge]) -> list[str]:
    """Why some charges' amounts could not be compared with the page's total (an `error`: the
    ledger's amount unit must be configured)."""
    return _amount_mismatches(purchase, [c for c in charges if c.succeeded])[1]


def _amount_mismatches(purchase: Purchase, succeeded: Sequence[Charge]) -> tuple[list[str], list[str]]:
    """(a message per succeeded charge of this order whose amount or currency differs from the
    page's, a message per charge whose amount could not be compared)."""
    if purchase.order_total is None or not succeeded:
        return [], []
    currency = (purchase.currency or succeeded[0].currency).upper()
    expected = to_minor_units(purchase.order_total, currency)
    if expected is None:
        return [], []
    out, unknown = [], []
    for c in succeeded:
        if c.order is not None and purchase.order_number is not None and c.order != purchase.order_number:
            continue
        minor = c.amount_minor if c.amount_minor is not None else _reading(c, expected)
        if minor is None:
            exp = exponent(c.currency or currency)
            unknown.append(
                f"charge {c.id} has the amount {c.amount_raw} (an integer), which is neither the page's "
                f"total of {money(expected, currency)} in minor units nor in major units; set the "
                f'ledger\'s amount_unit = "minor" if {c.amount_raw} means '
                f'{money(int(c.amount_raw), c.currency or currency)}, or "major" if it means '
                f"{money(int(c.amount_raw) * 10**exp, c.currency or currency)}"
            )
        elif minor != expected or (c.currency and c.currency != currency):
            out.append(
                f"charge {c.id} is {money(minor, c.currency)}, but the page showed an order total "
                f"of {money(expected, currency)}"
            )
    return out, unknown


def decide_units(purchase: Purchase, charges: Sequence[Charge]) -> list[Charge]:
    """The charges with their bare integer amounts read in the unit that matches the page's total.

    A ledger writes all its amounts one way: when one bare integer matches the total as minor units
    (49700 for 497.00 USD), every bare integer is read as minor units; as major units likewise.
    When none matches either way, they stay unread and `uncomparable` asks for `amount_unit`.
    """
    bare = [c for c in charges if c.amount_minor is None]
    if not bare or purchase.order_total is None:
        return list(charges)
    currency = (purchase.currency or bare[0].currency).upper()
    expected = to_minor_units(purchase.order_total, currency)
    if expected is None:
        return list(charges)
    for scale in (False, True):
        if any(_as(c, scale) == expected for c in bare):
            return [
                c if c.amount_minor is not None else replace(c, amount_minor=_as(c, scale)) for c in charges
            ]
    return list(charges)


def _as(charge: Charge, major: bool) -> int | None:
    try:
        whole = int(charge.amount_raw)
    except ValueError:
        return None
    return whole * 10 ** exponent(charge.currency) if major else whole


def _reading(charge: Charge, expected: int) -> int | None:
    """A bare integer amount read the one way that matches the page's total, if exactly one does.

    1700 against a page total of 17.00 EUR is 1700 cents; 17 is 17 euros. A mismatch in both
    readings cannot say which amount the ledger meant: the caller asks for `amount_unit`.
    """
    try:
        whole = int(charge.amount_raw)
    except ValueError:
        return None
    readings = {whole, whole * 10 ** exponent(charge.currency)}
    return expected if expected in readings else None


def to_minor_units(total: str, currency: str) -> int | None:
    """ "1,497.00" -> 149700 (or 1497 for a zero-decimal currency); None when it is not a number."""
    digits = "".join(ch for ch in total if ch.isdigit() or ch == ".")
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    return to_minor(value, currency) if value.is_finite() else None


def _list(charges: Sequence[Charge]) -> str:
    return ", ".join(f"{_amount(c)} ({c.id}{f', order #{c.order}' if c.order else ''})" for c in charges)


def _amount(c: Charge) -> str:
    if c.amount_minor is not None:
        return money(c.amount_minor, c.currency)
    # A bare integer no page total told the unit of: shown as the ledger wrote it.
    return f"{c.amount_raw} {c.currency} (as the ledger wrote it)".replace("  ", " ")


def _finding(
    purchase: Purchase, kind: str, message: str, charges: Sequence[Charge], base_url: str
) -> Finding:
    return Finding(
        kind=kind,
        severity=Severity.ERROR,
        # The site and the scenario, not the order: the same problem in the next run is the same finding.
        url=base_url,
        key=purchase.scenario,
        source=purchase.thank_you_url,
        element=f"scenario {purchase.scenario}",
        message=f"{purchase.scenario}: {message}",
        evidence={
            "scenario": purchase.scenario,
            "email": purchase.email,
            "order_number": purchase.order_number,
            "order_total": purchase.order_total,
            "currency": purchase.currency,
            "page_said": [asdict(a) for a in purchase.attempts],
            "charges": [c.as_json() for c in charges],
        },
    )


@register
class PaymentCheck(Check[PaymentOptions]):
    """Reconciles what the checkout page said with the payment provider's charges for the run.

    Errors: double_charge, charged_but_declined, approved_without_charge, charge_amount_mismatch.
    """

    kind = "payment"
    Options = PaymentOptions
    tolerates_failed_needs: ClassVar[bool] = True

    async def run(self, ctx: CheckContext) -> CheckResult:
        """Read the ledger for each needed purchase until it settles, then compare."""
        try:
            chosen = purchases(ctx.outputs, self.options.scenario)
        except NoPurchase as e:
            return CheckResult(status=Status.ERROR, message=str(e))
        async with self.options.ledger.build(ctx.site, ctx.base_url) as ledger:
            seen = await asyncio.gather(
                *(self._reconcile(ctx, ledger.charges, p) for p in chosen), return_exceptions=True
            )
        findings: list[Finding] = []
        charges: dict[str, list[dict[str, Any]]] = {}
        problems: list[str] = []
        said: list[str] = []
        for purchase, outcome in zip(chosen, seen, strict=True):
            if isinstance(outcome, LedgerError):
                # One purchase's ledger read failing does not lose what the others found.
                problems.append(f"{purchase.scenario}: {outcome}")
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            found, cs = outcome
            findings += found
            charges[purchase.scenario] = [c.as_json() for c in cs]
            problems += [f"{purchase.scenario}: {m}" for m in uncomparable(purchase, cs)]
            said.append(describe(purchase, cs))
        return CheckResult(
            status=Status.ERROR if problems else None,
            findings=findings,
            outputs={"charges": charges},
            message="; ".join(problems or said),
            stats={
                "charges": sum(len(cs) for cs in charges.values()),
                "succeeded_charges": sum(
                    1 for cs in charges.values() for c in cs if c["status"] == "succeeded"
                ),
            },
        )

    async def _reconcile(
        self,
        ctx: CheckContext,
        read: Callable[[str, Sequence[str]], Awaitable[list[Charge]]],
        purchase: Purchase,
    ) -> tuple[list[Finding], list[Charge]]:
        orders = [purchase.order_number] if purchase.order_number else []
        started = time.monotonic()
        charges = await settle(
            lambda: read(purchase.email, orders),
            expect_charge=purchase.approved,
            settle_s=self.options.settle_s,
            wait_s=self.options.wait_s,
        )
        charges = decide_units(purchase, charges)
        ctx.progress(charges=len(charges))
        waited_s = time.monotonic() - started
        return reconcile(purchase, charges, base_url=ctx.base_url, waited_s=waited_s), charges


def describe(purchase: Purchase, charges: Sequence[Charge]) -> str:
    """One line on what the ledger holds for a purchase, and what the page said (if it said)."""
    succeeded = [c for c in charges if c.succeeded]
    held = f"{len(succeeded)} succeeded charge(s)" + (f": {_list(succeeded)}" if succeeded else "")
    if len(charges) > len(succeeded):
        held += f", {len(charges) - len(succeeded)} not succeeded"
    if purchase.attempts:
        page = ", ".join(a.result for a in purchase.attempts)
        return f"{purchase.scenario}: {held}; the page said {page}"
    if purchase.payment_step:
        return (
            f"{purchase.scenario}: {held}; the scenario stopped after reaching its payment step "
            f"{purchase.payment_step!r}, before recording what the page said"
        )
    return f"{purchase.scenario}: {held}"

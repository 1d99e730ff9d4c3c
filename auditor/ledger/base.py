"""What every payment ledger adapter shares: the `Charge` record, the `Ledger` protocol, and one
JSON GET that turns every way a ledger can fail into an `InfrastructureError` that says what to fix.

A ledger is read-only: auditor never creates, captures or refunds a charge. A ledger that cannot be
read is our problem (check status `error`), never a finding about the shop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from auditor.errors import InfrastructureError

if TYPE_CHECKING:  # loaded to read a ledger, not with a config
    import httpx

SUCCEEDED = "succeeded"


class LedgerError(InfrastructureError):
    """The payment ledger could not be read: unreachable, refused our credentials, or answered nonsense."""


class LedgerFormatError(LedgerError):
    """The ledger answered, but its data does not fit the configured mapping: the message shows the
    value found, where, and the option to set."""


@dataclass(frozen=True)
class Charge:
    """One attempt to charge a card, as the payment provider recorded it.

    `status` is "succeeded" when the provider says so (an authorised but uncaptured charge counts:
    the customer's card is held either way), else the provider's own word ("failed", "pending").
    """

    id: str
    # In the currency's minor units (cents; yen for JPY); None when the ledger gave a bare integer
    # whose unit (minor or major) only the page's total can tell (see `auditor.ledger.amounts`).
    amount_minor: int | None
    currency: str
    status: str
    captured: bool | None
    order: str | None
    created: str | None
    email: str | None
    # The amount as the ledger wrote it ("17.00", 1700), for messages.
    amount_raw: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Ledger(Protocol):
    """A payment provider's record of charges, opened with `async with` and read by customer."""

    async def __aenter__(self) -> Ledger: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def charges(self, email: str, order_numbers: Sequence[str]) -> list[Charge]:
        """Every charge for this customer's email or these order numbers, each once."""
        ...


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    what: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET `url` and parse its JSON; every failure is a `LedgerError` naming `what` and the fix.

    `what` names the ledger in messages ("the HTTP ledger", "Stripe"). Credentials are never put
    in a message: they live in headers, which are never shown.
    """
    import httpx

    try:
        response = await client.get(url, params=params, headers=headers)
    except httpx.TimeoutException:
        raise LedgerError(f"{what} at {show_url(url)} did not answer in time; is it up?") from None
    except httpx.HTTPError as e:
        raise LedgerError(f"could not reach {what} at {show_url(url)}: {type(e).__name__}: {e}") from None
    if response.status_code in (401, 403):
        raise LedgerError(
            f"{what} at {show_url(url)} refused our credentials ({response.status_code}): check the key or "
            f"headers configured for the payment check, and that they may read charges"
            f"{_error_detail(response)}"
        )
    if not response.is_success:
        raise LedgerError(
            f"{what} at {show_url(url)} answered {response.status_code}{_error_detail(response)}"
        )
    return parse_json(response, what=what, url=url)


def parse_json(response: httpx.Response, *, what: str, url: str) -> Any:
    """The response's JSON with every number exact: fractions as Decimal, never float."""
    try:
        return json.loads(response.content, parse_float=Decimal, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "no content type")
        raise LedgerError(
            f"{what} at {show_url(url)} did not answer JSON ({kind}): {response.text[:120]!r}"
        ) from None
    except (ValueError, RecursionError) as e:
        # An integer of thousands of digits, NaN/Infinity, or nesting deeper than Python's stack.
        raise LedgerFormatError(
            f"{what} at {show_url(url)} answered JSON that is not a ledger: {e}"
        ) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not an amount")


def show_url(url: str) -> str:
    """The URL without its query string, which may hold the customer's email or a token."""
    return url.split("?", 1)[0]


def _error_detail(response: httpx.Response) -> str:
    """The provider's own error message, when it sent one in the usual {"error": ...} shape."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return f": {error}" if isinstance(error, str) and error else ""


def show_value(value: Any, limit: int = 80) -> str:
    """A value from a ledger as a message shows it: its JSON-ish repr, cut to `limit` characters.

    The runner redacts every configured secret from check messages afterwards; a ledger's own
    fields (ids, amounts, statuses) are not secrets.
    """
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""What every payment ledger adapter shares: the `Charge` record, the `Ledger` protocol, and one
JSON GET that turns every way a ledger can fail into an `InfrastructureError` that says what to fix.

A ledger is read-only: auditor never creates, captures or refunds a charge. A ledger that cannot be
read is our problem (check status `error`), never a finding about the shop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, Protocol

import httpx

from auditor.errors import InfrastructureError

SUCCEEDED = "succeeded"


class LedgerError(InfrastructureError):
    """The payment ledger could not be read: unreachable, refused our credentials, or answered nonsense."""


@dataclass(frozen=True)
class Charge:
    """One attempt to charge a card, as the payment provider recorded it.

    `status` is "succeeded" when the provider says so (an authorised but uncaptured charge counts:
    the customer's card is held either way), else the provider's own word ("failed", "pending").
    """

    id: str
    amount_cents: int
    currency: str
    status: str
    captured: bool | None
    order: str | None
    created: str | None
    email: str | None

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
    try:
        response = await client.get(url, params=params, headers=headers)
    except httpx.TimeoutException:
        raise LedgerError(f"{what} at {_show(url)} did not answer in time; is it up?") from None
    except httpx.HTTPError as e:
        raise LedgerError(f"could not reach {what} at {_show(url)}: {type(e).__name__}: {e}") from None
    if response.status_code in (401, 403):
        raise LedgerError(
            f"{what} at {_show(url)} refused our credentials ({response.status_code}): check the key or "
            f"headers configured for the payment check, and that they may read charges"
            f"{_error_detail(response)}"
        )
    if not response.is_success:
        raise LedgerError(f"{what} at {_show(url)} answered {response.status_code}{_error_detail(response)}")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "no content type")
        raise LedgerError(
            f"{what} at {_show(url)} did not answer JSON ({kind}): {response.text[:120]!r}"
        ) from None


def _show(url: str) -> str:
    """The URL without its query string, which may hold the customer's email or a token."""
    return url.split("?", 1)[0]


def _error_detail(response: httpx.Response) -> str:
    """The provider's own error message, when it sent one in the usual {"error": ...} shape."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return f": {error}" if isinstance(error, str) and error else ""


def dig(data: Any, path: str) -> Any:
    """The value at a dotted `path` ("data.charges", "metadata.order_id") in nested dicts, or None."""
    for part in path.split(".") if path else ():
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def as_cents(value: Any, *, what: str, charge_id: str) -> int:
    """An amount in the currency's smallest unit; anything else is a ledger mapping mistake."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise LedgerError(
        f"{what}: charge {charge_id} has amount {value!r}; the ledger must give amounts in cents "
        f"(an integer): check `amount_field`"
    )

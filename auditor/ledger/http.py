"""The `http` ledger: any JSON endpoint that lists a customer's charges, mapped field by field.

The defaults read the demo shop's `/_test/ledger?email=...`; a shop's own test endpoint or a
gateway's report API is read the same way with a URL template and a field mapping.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from auditor.http import build_client
from auditor.ledger.base import SUCCEEDED, Charge, LedgerError, as_cents, dig, get_json

if TYPE_CHECKING:
    from auditor.config import SiteConfig

PLACEHOLDERS = ("base_url", "email", "order")
WHAT = "the HTTP ledger"


class HttpLedgerOptions(BaseModel):
    """Where the charges are (`url`, `headers`) and which JSON field is what (dotted paths)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["http"] = "http"
    # {base_url} is the site's address; {email} and {order} are URL-encoded. With {order}, the
    # ledger is asked once per order number of the purchase.
    url: str = "{base_url}/_test/ledger?email={email}"
    headers: dict[str, str] = {}
    charges_path: str = "charges"
    id_field: str = "id"
    amount_field: str = "amount"
    currency_field: str = "currency"
    status_field: str = "status"
    succeeded_values: list[str] = Field(default_factory=lambda: [SUCCEEDED], min_length=1)
    captured_field: str = "captured"
    order_field: str = "order"
    created_field: str = "created"
    email_field: str = "email"

    @field_validator("url")
    @classmethod
    def _known_placeholders(cls, v: str) -> str:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(v) if name is not None]
        except ValueError as e:
            raise ValueError(f"bad URL template {v!r}: {e}") from None
        unknown = sorted({n for n in names if n not in PLACEHOLDERS})
        if unknown:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ValueError(f"unknown placeholder(s) {', '.join(unknown)} in {v!r} (known: {known})")
        if "email" not in names and "order" not in names:
            raise ValueError(f"the URL must contain {{email}} or {{order}} to find this run's charges: {v!r}")
        return v

    def build(self, site: SiteConfig, base_url: str) -> HttpLedger:
        return HttpLedger(self, site, base_url)


class HttpLedger:
    """Reads charges from a JSON endpoint, through the site's own HTTP client settings."""

    def __init__(self, options: HttpLedgerOptions, site: SiteConfig, base_url: str) -> None:
        self.options = options
        self.base_url = base_url.rstrip("/")
        # The site's client: a staging site's own headers and cookies reach the ledger on its host.
        self._client = build_client(site)

    async def __aenter__(self) -> HttpLedger:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.aclose()

    def urls(self, email: str, order_numbers: Sequence[str]) -> list[str]:
        """The URLs to read: one, or one per order number when the template has {order}."""
        template = self.options.url
        orders = list(order_numbers) if "{order}" in template else [""]
        return [
            template.format(base_url=self.base_url, email=quote(email, safe="@"), order=quote(o, safe=""))
            for o in orders
        ]

    async def charges(self, email: str, order_numbers: Sequence[str]) -> list[Charge]:
        """Every charge the endpoint lists for this email (or these orders), each once."""
        seen: dict[str, Charge] = {}
        for url in self.urls(email, order_numbers):
            data = await get_json(self._client, url, what=WHAT, headers=self.options.headers)
            for item in self._items(data, url):
                charge = self._charge(item, email)
                seen.setdefault(charge.id, charge)
        return list(seen.values())

    def _items(self, data: Any, url: str) -> list[dict[str, Any]]:
        items = dig(data, self.options.charges_path)
        if not isinstance(items, list):
            raise LedgerError(
                f"{WHAT} at {url.split('?', 1)[0]} has no list at `charges_path` "
                f"{self.options.charges_path!r}; set `charges_path` to the dotted path of the charges"
            )
        return [i for i in items if isinstance(i, dict)]

    def _charge(self, item: dict[str, Any], email: str) -> Charge:
        o = self.options
        charge_id = dig(item, o.id_field)
        if charge_id is None or charge_id == "":
            raise LedgerError(f"{WHAT}: a charge has no `id_field` {o.id_field!r}: {item!r}"[:300])
        status = str(dig(item, o.status_field) or "")
        captured = dig(item, o.captured_field)
        order, created, own_email = (dig(item, f) for f in (o.order_field, o.created_field, o.email_field))
        return Charge(
            id=str(charge_id),
            amount_cents=as_cents(dig(item, o.amount_field), what=WHAT, charge_id=str(charge_id)),
            currency=str(dig(item, o.currency_field) or "").upper(),
            status=SUCCEEDED if status in o.succeeded_values else status,
            captured=captured if isinstance(captured, bool) else None,
            order=None if order is None else str(order),
            created=None if created is None else str(created),
            email=str(own_email) if own_email else email,
        )

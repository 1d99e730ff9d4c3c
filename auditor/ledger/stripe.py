"""The `stripe` ledger: a run's charges read from Stripe with a read-only restricted key.

Charges are found two ways, and the union is used: through the customers whose email is the run's
customer email (`GET /v1/customers?email=`, then `GET /v1/charges?customer=`), and, when the shop
writes its order number into the charge's metadata, by searching for it
(`GET /v1/charges/search?query=metadata['KEY']:'ORDER'`). Guest checkouts often create no Stripe
customer, so the metadata search is what finds them. Search results can lag a minute behind a
new charge (Stripe's documented data freshness); the payment check's `wait_s` covers that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from auditor.config import check_http_url
from auditor.ledger.amounts import parse_amount
from auditor.ledger.base import Charge, LedgerError, get_json

if TYPE_CHECKING:
    from auditor.config import SiteConfig

WHAT = "Stripe"
PAGE_SIZE = 100
# 100 pages of 100: a test customer with more charges than that is not a test customer.
MAX_PAGES = 100
TIMEOUT_S = 20.0


class StripeLedgerOptions(BaseModel):
    """A restricted Stripe key that may read charges and customers, and where the order number is."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["stripe"]
    # A restricted, read-only key (Charges: Read, Customers: Read), e.g. "${STRIPE_KEY}"; a live secret key
    # is refused.
    api_key: SecretStr
    # The API's address.
    api_base: str = "https://api.stripe.com"
    # The charge metadata key that holds the shop's order number (e.g. "order_id"); unset: match by
    # customer email only.
    metadata_key: str | None = None

    @field_validator("api_key")
    @classmethod
    def _restricted_key(cls, v: SecretStr) -> SecretStr:
        key = v.get_secret_value().strip()
        if not key:
            raise ValueError('is empty; set it to a restricted key, e.g. api_key = "${STRIPE_KEY}"')
        if key.startswith("sk_live_"):
            raise ValueError(
                "is a live secret key, which can move money; auditor only reads charges, so create a "
                "restricted key (rk_live_...) with read access to Charges and Customers and use that"
            )
        return SecretStr(key)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, v: str) -> str:
        return check_http_url(v).rstrip("/")

    @field_validator("metadata_key")
    @classmethod
    def _plain_key(cls, v: str | None) -> str | None:
        if v is not None and (not v or any(c in v for c in "[]'\"\\")):
            raise ValueError(f"must be a plain metadata key without brackets or quotes, got {v!r}")
        return v

    def build(self, site: SiteConfig, base_url: str) -> StripeLedger:
        return StripeLedger(self)


class StripeLedger:
    """Reads a customer's charges from the Stripe API (list and search endpoints, every page)."""

    def __init__(self, options: StripeLedgerOptions) -> None:
        import httpx  # loaded to read the ledger, not with a config

        self.options = options
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {options.api_key.get_secret_value()}"},
            timeout=httpx.Timeout(TIMEOUT_S),
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> StripeLedger:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def charges(self, email: str, order_numbers: Sequence[str]) -> list[Charge]:
        """The charges of every customer with this email, plus those whose metadata names an order."""
        seen: dict[str, Charge] = {}
        for customer in await self._pages("/v1/customers", {"email": email}):
            for item in await self._pages("/v1/charges", {"customer": str(customer.get("id", ""))}):
                charge = self._charge(item, email)
                seen.setdefault(charge.id, charge)
        if self.options.metadata_key:
            for order in order_numbers:
                for item in await self._search("/v1/charges/search", self._order_query(order)):
                    charge = self._charge(item, email)
                    seen.setdefault(charge.id, charge)
        return list(seen.values())

    def _order_query(self, order: str) -> str:
        """Stripe's search query language: the value is quoted, quotes and backslashes escaped."""
        value = order.replace("\\", "\\\\").replace("'", "\\'")
        return f"metadata['{self.options.metadata_key}']:'{value}'"

    async def _pages(self, path: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every object of a list endpoint, following `has_more` with `starting_after`."""
        out: list[dict[str, Any]] = []
        cursor: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            page = await self._get(path, {**params, "limit": str(PAGE_SIZE), **cursor})
            data = list(self._objects(page, path))
            out.extend(data)
            if not page.get("has_more") or not data:
                return out
            cursor = {"starting_after": str(data[-1].get("id", ""))}
        raise LedgerError(f"{WHAT} {path} has more than {MAX_PAGES * PAGE_SIZE} results for one customer")

    async def _search(self, path: str, query: str) -> list[dict[str, Any]]:
        """Every object of a search endpoint, following `has_more` with `page=next_page`."""
        out: list[dict[str, Any]] = []
        cursor: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            page = await self._get(path, {"query": query, "limit": str(PAGE_SIZE), **cursor})
            out.extend(self._objects(page, path))
            next_page = page.get("next_page")
            if not page.get("has_more") or not next_page:
                return out
            cursor = {"page": str(next_page)}
        raise LedgerError(f"{WHAT} {path} has more than {MAX_PAGES * PAGE_SIZE} results for one order")

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        page = await get_json(self._client, f"{self.options.api_base}{path}", what=WHAT, params=params)
        if not isinstance(page, dict):
            raise LedgerError(f"{WHAT} {path} did not answer a list object: {str(page)[:120]!r}")
        return page

    @staticmethod
    def _objects(page: dict[str, Any], path: str) -> Iterator[dict[str, Any]]:
        data = page.get("data")
        if not isinstance(data, list):
            raise LedgerError(f"{WHAT} {path} answered without a `data` list: {str(page)[:120]!r}")
        return (d for d in data if isinstance(d, dict))

    def _charge(self, item: dict[str, Any], email: str) -> Charge:
        charge_id = str(item.get("id", ""))
        metadata = _mapping(item.get("metadata"))
        billing = _mapping(item.get("billing_details"))
        created = item.get("created")
        captured = item.get("captured")
        order = metadata.get(self.options.metadata_key) if self.options.metadata_key else None
        currency = str(item.get("currency") or "").upper()
        # Stripe gives every amount as an integer in the currency's smallest unit.
        amount = parse_amount(
            item.get("amount"), currency=currency, unit="minor", where=f"{WHAT} charge {charge_id}'s `amount`"
        )
        return Charge(
            id=charge_id,
            amount_minor=amount.minor,
            amount_raw=amount.raw,
            currency=currency,
            status=str(item.get("status") or ""),
            captured=captured if isinstance(captured, bool) else None,
            order=None if order is None else str(order),
            created=datetime.fromtimestamp(created, UTC).isoformat() if isinstance(created, int) else None,
            email=billing.get("email") or item.get("receipt_email") or email,
        )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

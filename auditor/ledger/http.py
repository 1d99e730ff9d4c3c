"""The `http` ledger: any JSON endpoint that lists a customer's charges, mapped field by field.

The defaults read the demo shop's `/_test/ledger?email=...`; a shop's own test endpoint or a
gateway's report API is read the same way with a URL template and a field mapping. Fields are
paths (`data.charges[*].amount`, see `auditor.ledger.paths`); amounts may be integer minor units,
decimal strings or JSON numbers (`auditor.ledger.amounts`); a paginated list is followed through a
`next` URL field or a cursor field, for at most `max_pages` pages.
"""

from __future__ import annotations

import string
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from auditor.http import build_client
from auditor.ledger.amounts import AmountUnit, exponent, parse_amount, written_as_major
from auditor.ledger.base import (
    SUCCEEDED,
    Charge,
    LedgerFormatError,
    get_json,
    show_url,
    show_value,
)
from auditor.ledger.paths import MISSING, FieldPath, parse_path

if TYPE_CHECKING:
    from auditor.config import SiteConfig

PLACEHOLDERS = ("base_url", "email", "order")
WHAT = "the HTTP ledger"
FIELDS = (
    "id_field",
    "amount_field",
    "currency_field",
    "status_field",
    "captured_field",
    "order_field",
    "created_field",
    "email_field",
)


class HttpLedgerOptions(BaseModel):
    """Where the charges are (`url`, `headers`), which JSON field is what, and how pages follow."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["http"] = "http"
    # {base_url} is the site's address; {email} and {order} are URL-encoded. With {order}, the
    # ledger is asked once per order number of the purchase.
    url: str = "{base_url}/_test/ledger?email={email}"
    # Extra request headers, e.g. { Authorization = "Bearer ${LEDGER_TOKEN}" }; sent to the ledger's host
    # only.
    headers: dict[str, str] = {}
    # The list of charges in the answer; a field written `data.charges[*].amount` names it too.
    items_field: str = "charges"
    # Each field is a dotted path inside one charge ("money.cents", "lines[0].id"), or from the root through
    # the list: the charge's id.
    id_field: str = "id"
    # The amount: an integer, a decimal string or a JSON number, read exactly with the currency's exponent.
    amount_field: str = "amount"
    # "minor": integers are cents (Stripe, Adyen); "major": 17 is 17.00. Unset: a decimal string or
    # a number with a fraction is major, and a bare integer is decided against the page's total.
    amount_unit: AmountUnit | None = None
    # The ISO 4217 currency code.
    currency_field: str = "currency"
    # The charge's status, compared with `succeeded_values`.
    status_field: str = "status"
    # The statuses that mean the money was taken or held (["PAID", "AUTHORIZED"]).
    succeeded_values: list[str] = Field(default_factory=lambda: [SUCCEEDED], min_length=1)
    # Whether an authorised charge was captured (a held charge counts as succeeded either way).
    captured_field: str = "captured"
    # The shop's order number of the charge.
    order_field: str = "order"
    # When the charge was made.
    created_field: str = "created"
    # The customer's email of the charge.
    email_field: str = "email"
    # Pagination: the next page's URL in the answer (absolute or relative), or a cursor that is
    # sent back as the query parameter `cursor_param`. Unset: one page.
    next_field: str | None = None
    # The field with the next page's cursor, sent back as `cursor_param` (set both).
    cursor_field: str | None = None
    # The query parameter the cursor goes in ("cursor", "starting_after").
    cursor_param: str | None = None
    # Pages read at most per URL; more is an error (the charges would be incomplete).
    max_pages: int = Field(50, ge=1, le=10_000)

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

    @field_validator("items_field", *FIELDS, "next_field", "cursor_field")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        if v is not None:
            parse_path(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> HttpLedgerOptions:
        self.paths()
        if self.next_field and self.cursor_field:
            raise ValueError("set `next_field` or `cursor_field`, not both: a ledger pages one way")
        if bool(self.cursor_field) != bool(self.cursor_param):
            raise ValueError(
                "`cursor_field` (where the answer holds the next cursor) and `cursor_param` (the query "
                "parameter it is sent back as) go together; set both"
            )
        return self

    def paths(self) -> tuple[FieldPath, dict[str, FieldPath]]:
        """The records' path, and each field's path inside one record.

        A field written from the root with `[*]` (`data.charges[*].amount`) names the records as
        well; every such field must name the same ones, and `items_field`, if set, agrees.
        """
        items = parse_path(self.items_field)
        fields: dict[str, FieldPath] = {}
        roots: dict[str, str] = {}
        for name in FIELDS:
            path = parse_path(getattr(self, name))
            if path.has_star:
                head, path = path.split_star()
                roots[name] = head.text
            fields[name] = path
        if roots:
            root_texts = set(roots.values())
            if len(root_texts) > 1:
                listed = ", ".join(f"{k} = {getattr(self, k)!r}" for k in roots)
                raise ValueError(f"the fields name different lists of charges with [*]: {listed}")
            (root_text,) = root_texts
            explicit = "items_field" in self.model_fields_set
            if explicit and (*parse_path(self.items_field).steps, None) != parse_path(root_text).steps:
                name = next(iter(roots))
                raise ValueError(
                    f"{name} = {getattr(self, name)!r} names the charges as {root_text!r}, but "
                    f"items_field is {self.items_field!r}; drop items_field, or write the fields"
                    " inside one charge"
                )
            items = parse_path(root_text)
        return items, fields

    def build(self, site: SiteConfig, base_url: str) -> HttpLedger:
        return HttpLedger(self, site, base_url)


class HttpLedger:
    """Reads charges from a JSON endpoint, through the site's own HTTP client settings."""

    def __init__(self, options: HttpLedgerOptions, site: SiteConfig, base_url: str) -> None:
        self.options = options
        self.base_url = base_url.rstrip("/")
        self.items_path, self.fields = options.paths()
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
            for data, page_url in [x async for x in self._pages(url)]:
                for n, item in enumerate(self._items(data, page_url)):
                    charge = self.charge(item, email, where=f"{WHAT} at {show_url(page_url)}, charge {n + 1}")
                    seen.setdefault(charge.id, charge)
        return self._decide_units(list(seen.values()))

    async def _pages(self, first: str) -> AsyncIterator[tuple[Any, str]]:
        """(answer, its URL) for each page of the list, following `next_field` or `cursor_field`."""
        o = self.options
        url: str | None = first
        visited: set[str] = set()
        for _ in range(o.max_pages):
            assert url is not None
            visited.add(url)
            data = await get_json(self._client, url, what=WHAT, headers=o.headers)
            yield data, url
            url = self._next(data, url)
            if url is None or url in visited:
                # No next page, or one already read (a cycle): every charge has been seen.
                return
        raise LedgerFormatError(
            f"{WHAT} at {show_url(first)} has more than {o.max_pages} pages of charges for one customer; "
            "raise `max_pages` if that is right, or check `next_field`/`cursor_field`"
        )

    def _next(self, data: Any, url: str) -> str | None:
        o = self.options
        if o.next_field:
            value = parse_path(o.next_field).get(data)
            if value in (MISSING, None, "", False):
                return None
            if not isinstance(value, str):
                raise LedgerFormatError(
                    f"{WHAT} at {show_url(url)} has {show_value(value)} at `next_field` {o.next_field!r}, "
                    "not a URL; point next_field at the next page's URL (or set cursor_field instead)"
                )
            nxt = urljoin(url, value.strip())
            if _origin(nxt) != _origin(url):
                # The ledger's headers are credentials: they go to the ledger's own host only.
                raise LedgerFormatError(
                    f"{WHAT} at {show_url(url)} gives a next page on another host ({show_url(nxt)}); "
                    "auditor sends the ledger's headers to its own host only"
                )
            return nxt
        if o.cursor_field and o.cursor_param:
            value = parse_path(o.cursor_field).get(data)
            if value in (MISSING, None, "", False):
                return None
            if isinstance(value, dict | list):
                raise LedgerFormatError(
                    f"{WHAT} at {show_url(url)} has {show_value(value)} at `cursor_field` "
                    f"{o.cursor_field!r}, not a cursor; point cursor_field at the next page's cursor"
                )
            return _with_param(url, o.cursor_param, str(value))
        return None

    def _items(self, data: Any, url: str) -> list[dict[str, Any]]:
        steps = self.items_path.steps
        # `data.charges[*]` and `data.charges` name the same list; `pages[*].charges` several.
        container = FieldPath(self.items_path.text, steps[:-1] if steps and steps[-1] is None else steps)
        lists = [v for v in container.values(data) if isinstance(v, list)]
        if not lists:
            found = container.get(data)
            raise LedgerFormatError(
                f"{WHAT} at {show_url(url)} has {show_value(found)} at `items_field` "
                f"{self.items_path.text!r}, not a list; set items_field to the dotted path of the list "
                f"of charges (the answer's top-level keys: {_keys(data)})"
            )
        return [i for items in lists for i in items if isinstance(i, dict)]

    def charge(self, item: dict[str, Any], email: str, *, where: str = WHAT) -> Charge:
        """One record as a Charge; a record that does not fit is a `LedgerFormatError`."""
        o, f = self.options, self.fields
        charge_id = f["id_field"].get(item)
        if charge_id in (MISSING, None, "") or isinstance(charge_id, dict | list):
            raise LedgerFormatError(
                f"{where} has {show_value(charge_id)} at `id_field` {o.id_field!r}, not an id; set "
                f"id_field (the charge's keys: {_keys(item)})"
            )
        ident = str(charge_id)[:200]
        currency = _text(f["currency_field"].get(item)).upper()[:10]
        raw_amount = f["amount_field"].get(item)
        if raw_amount is MISSING:
            raise LedgerFormatError(
                f"{where} (id {ident!r}) has no `amount_field` {o.amount_field!r}; set amount_field "
                f"(the charge's keys: {_keys(item)})"
            )
        amount = parse_amount(
            raw_amount,
            currency=currency,
            unit=o.amount_unit,
            where=f"{where} (id {ident!r}) at `amount_field` {o.amount_field!r}",
        )
        status = _text(f["status_field"].get(item))
        captured = f["captured_field"].get(item)
        order, created, own_email = (
            _text(f[k].get(item)) for k in ("order_field", "created_field", "email_field")
        )
        return Charge(
            id=ident,
            amount_minor=amount.minor,
            currency=currency,
            status=SUCCEEDED if status in o.succeeded_values else status,
            captured=captured if isinstance(captured, bool) else None,
            order=order or None,
            created=created or None,
            email=own_email or email,
            amount_raw=amount.raw,
        )

    def _decide_units(self, charges: list[Charge]) -> list[Charge]:
        """One ledger writes every amount the same way: if any is unmistakably in major units (a
        decimal string, a number with a fraction), its bare integers are major units too."""
        if self.options.amount_unit is not None or all(c.amount_minor is not None for c in charges):
            return charges
        if not any(written_as_major(c.amount_raw) for c in charges):
            return charges
        return [
            c
            if c.amount_minor is not None
            else replace(c, amount_minor=int(c.amount_raw) * 10 ** exponent(c.currency))
            for c in charges
        ]


def _text(value: Any) -> str:
    """A scalar field as text ("" when missing or not a scalar)."""
    if value is MISSING or value is None or isinstance(value, dict | list):
        return ""
    return str(value)[:200]


def _keys(data: Any) -> str:
    if not isinstance(data, dict):
        return f"none: it is {'a list' if isinstance(data, list) else type(data).__name__}"
    keys = [str(k) for k in list(data)[:12]]
    return ", ".join(keys) + (", ..." if len(data) > 12 else "") if keys else "none"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _with_param(url: str, name: str, value: str) -> str:
    """`url` with the query parameter `name` set to `value` (replacing one already there)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)])))

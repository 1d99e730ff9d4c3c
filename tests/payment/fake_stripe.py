"""A local fake of the few Stripe endpoints the `stripe` ledger reads, served on 127.0.0.1.

GET /v1/customers?email=, GET /v1/charges?customer=, GET /v1/charges/search?query=metadata['K']:'V'.
Like Stripe it wants `Authorization: Bearer <key>` (401 with Stripe's error shape otherwise), and it
pages its lists: the page size is capped at PAGE_SIZE whatever `limit` asks, so every test crosses
pages (`has_more` + `starting_after` for lists, `next_page` + `page` for search).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAGE_SIZE = 2
KEY = "rk_test_51FakeRestrictedReadOnlyKey"
_METADATA_QUERY = re.compile(r"^metadata\['([^'\]]+)'\]:'((?:[^'\\]|\\.)*)'$")


@dataclass
class FakeStripe:
    """The account's customers and charges; tests add to them, the app serves them."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    charges: list[dict[str, Any]] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    fail_with: int | None = None

    def customer(self, email: str) -> str:
        cid = f"cus_{len(self.customers) + 1:04d}"
        self.customers.insert(0, {"id": cid, "object": "customer", "email": email})  # newest first
        return cid

    def charge(
        self,
        amount: int,
        *,
        customer: str | None = None,
        status: str = "succeeded",
        captured: bool = True,
        metadata: dict[str, str] | None = None,
        email: str | None = None,
    ) -> str:
        chid = f"ch_{len(self.charges) + 1:04d}"
        self.charges.insert(
            0,
            {
                "id": chid,
                "object": "charge",
                "amount": amount,
                "currency": "usd",
                "status": status,
                "captured": captured,
                "customer": customer,
                "metadata": metadata or {},
                "created": int(time.time()),
                "billing_details": {"email": email},
                "receipt_email": None,
            },
        )
        return chid

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/customers", self._customers),
                Route("/v1/charges", self._list_charges),
                Route("/v1/charges/search", self._search_charges),
            ]
        )

    def _refuse(self, request: Request) -> Response | None:
        self.requests[request.url.path] += 1
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return _error(401, "Invalid API Key provided: rk_test_****oops", "invalid_request_error")
        if self.fail_with:
            return _error(self.fail_with, "Something went wrong on Stripe's end.", "api_error")
        return None

    async def _customers(self, request: Request) -> Response:
        if refused := self._refuse(request):
            return refused
        email = request.query_params.get("email")
        found = [c for c in self.customers if email is None or c["email"] == email]  # case-sensitive
        return _list_page(request, "/v1/customers", found)

    async def _list_charges(self, request: Request) -> Response:
        if refused := self._refuse(request):
            return refused
        customer = request.query_params.get("customer")
        found = [c for c in self.charges if customer is None or c["customer"] == customer]
        return _list_page(request, "/v1/charges", found)

    async def _search_charges(self, request: Request) -> Response:
        if refused := self._refuse(request):
            return refused
        m = _METADATA_QUERY.match(request.query_params.get("query", ""))
        if not m:
            return _error(400, "This fake only understands metadata['key']:'value'", "invalid_request_error")
        key, value = m.group(1), re.sub(r"\\(.)", r"\1", m.group(2))
        found = [c for c in self.charges if c["metadata"].get(key) == value]
        start = int(request.query_params.get("page") or 0)
        page = found[start : start + _size(request)]
        more = start + len(page) < len(found)
        body = {
            "object": "search_result",
            "url": "/v1/charges/search",
            "has_more": more,
            "data": page,
            "next_page": str(start + len(page)) if more else None,
        }
        return JSONResponse(body)


def _size(request: Request) -> int:
    return min(int(request.query_params.get("limit") or 10), PAGE_SIZE)


def _list_page(request: Request, url: str, found: list[dict[str, Any]]) -> Response:
    after = request.query_params.get("starting_after")
    start = next((i + 1 for i, o in enumerate(found) if o["id"] == after), 0) if after else 0
    page = found[start : start + _size(request)]
    body = {"object": "list", "url": url, "has_more": start + len(page) < len(found), "data": page}
    return JSONResponse(body)


def _error(status: int, message: str, kind: str) -> Response:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)

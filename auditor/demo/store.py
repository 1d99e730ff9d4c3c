"""The demo shop's state: carts, orders and download tokens, in memory and thread-safe.

One Store per shop instance, so two shops in one process (tests) never share customers. Accounts
and newsletter subscribers join here when those features arrive.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from auditor.demo.catalog import BY_SLUG, Product


@dataclass
class Line:
    """A product and how many of it."""

    product: Product
    quantity: int

    @property
    def total_cents(self) -> int:
        return self.product.price_cents * self.quantity


@dataclass
class Customer:
    """Who checks out as a guest."""

    name: str
    email: str
    address: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else ""


@dataclass
class Order:
    """An order from checkout; `paid` once a charge for it succeeded."""

    number: str
    customer: Customer
    lines: list[Line]
    paid: bool = False
    # token -> product slug for each digital line, filled when the order is paid.
    downloads: dict[str, str] = field(default_factory=dict)

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)


class Store:
    """Carts (by cart id), orders (by number) and download tokens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._carts: dict[str, dict[str, int]] = {}
        self._orders: dict[str, Order] = {}
        self._downloads: dict[str, tuple[str, str]] = {}  # token -> (order number, slug)

    @staticmethod
    def new_cart_id() -> str:
        return secrets.token_urlsafe(16)

    def cart(self, cart_id: str) -> list[Line]:
        """The lines in a cart, in catalogue order; empty for an unknown cart."""
        with self._lock:
            items = dict(self._carts.get(cart_id, {}))
        return [Line(BY_SLUG[slug], qty) for slug, qty in items.items() if slug in BY_SLUG]

    def add(self, cart_id: str, slug: str, quantity: int = 1) -> None:
        """Add a product to a cart; unknown products raise KeyError."""
        if slug not in BY_SLUG:
            raise KeyError(slug)
        with self._lock:
            cart = self._carts.setdefault(cart_id, {})
            cart[slug] = cart.get(slug, 0) + max(1, quantity)

    def remove(self, cart_id: str, slug: str) -> None:
        with self._lock:
            self._carts.get(cart_id, {}).pop(slug, None)

    def clear(self, cart_id: str) -> None:
        with self._lock:
            self._carts.pop(cart_id, None)

    def place(self, customer: Customer, lines: list[Line]) -> Order:
        """Create an unpaid order with a fresh six-character number."""
        with self._lock:
            number = secrets.token_hex(3).upper()
            while number in self._orders:
                number = secrets.token_hex(3).upper()
            order = Order(number, customer, list(lines))
            self._orders[number] = order
        return order

    def order(self, number: str) -> Order | None:
        with self._lock:
            return self._orders.get(number)

    def mark_paid(self, order: Order) -> None:
        """Mark an order paid and issue one download token per digital product."""
        with self._lock:
            order.paid = True
            for line in order.lines:
                if line.product.digital and line.product.slug not in order.downloads.values():
                    token = secrets.token_urlsafe(16)
                    order.downloads[token] = line.product.slug
                    self._downloads[token] = (order.number, line.product.slug)

    def download(self, token: str) -> Product | None:
        """The product a download token gives, or None."""
        with self._lock:
            found = self._downloads.get(token)
        return BY_SLUG[found[1]] if found else None

"""The demo shop's state: carts, orders, downloads, accounts, sessions, newsletter subscribers and
contact messages, in memory and thread-safe.

One Store per shop instance, so two shops in one process (tests) never share customers. Emails are
kept lower-cased as keys: "Ada@Example.com" and "ada@example.com" are one customer.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.demo.catalog import BY_SLUG, Product
from auditor.demo.passwords import PasswordHash


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
    # The "create an account" box at checkout, and the password chosen there (None: generate one).
    create_account: bool = False
    password: PasswordHash | None = None
    # Whether paying created a new account (not when the email already had one).
    account_created: bool = False

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)


@dataclass(frozen=True)
class Account:
    """A customer account, created at checkout."""

    email: str
    name: str
    password: PasswordHash


@dataclass
class Subscriber:
    """A newsletter signup; `confirmed` once the link in the confirmation email was opened."""

    email: str
    token: str
    confirmed: bool = False


@dataclass(frozen=True)
class ContactMessage:
    """What a visitor sent through the contact form."""

    name: str
    email: str
    message: str


def email_key(email: str) -> str:
    return email.strip().lower()


class Store:
    """Carts (by cart id), orders (by number), download tokens, accounts and sessions, newsletter
    subscribers and contact messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._carts: dict[str, dict[str, int]] = {}
        self._orders: dict[str, Order] = {}
        self._downloads: dict[str, tuple[str, str]] = {}  # token -> (order number, slug)
        self._accounts: dict[str, Account] = {}  # email key -> account
        self._sessions: dict[str, str] = {}  # session token -> email key
        self._subscribers: dict[str, Subscriber] = {}  # confirmation token -> subscriber
        self.messages: list[ContactMessage] = []

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

    def mark_paid(self, order: Order, new_token: Callable[[Order, str], str] | None = None) -> bool:
        """Mark an order paid and issue one download token per digital product (`new_token(order,
        slug)`, by default a random one).

        True when the order was not paid before: what follows a payment (emails, the account)
        happens once per order, even when a fault charges it twice.
        """
        with self._lock:
            newly_paid = not order.paid
            order.paid = True
            for line in order.lines:
                if line.product.digital and line.product.slug not in order.downloads.values():
                    slug = line.product.slug
                    token = new_token(order, slug) if new_token else secrets.token_urlsafe(16)
                    order.downloads[token] = slug
                    self._downloads[token] = (order.number, slug)
        return newly_paid

    def download(self, token: str) -> Product | None:
        """The product a download token gives, or None."""
        with self._lock:
            found = self._downloads.get(token)
        return BY_SLUG[found[1]] if found else None

    def paid_orders(self, email: str) -> list[Order]:
        """The paid orders placed with this email, newest first."""
        key = email_key(email)
        with self._lock:
            orders = [o for o in self._orders.values() if o.paid and email_key(o.customer.email) == key]
        return orders[::-1]

    # --- accounts and sessions -----------------------------------------------------------

    def create_account(self, email: str, name: str, password: PasswordHash) -> Account | None:
        """A new account for `email`; None when that email already has one (it is left alone)."""
        key = email_key(email)
        with self._lock:
            if key in self._accounts:
                return None
            account = self._accounts[key] = Account(email.strip(), name, password)
        return account

    def account(self, email: str) -> Account | None:
        with self._lock:
            return self._accounts.get(email_key(email))

    def open_session(self, account: Account) -> str:
        """A new session token for a logged-in account (the `session` cookie)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[token] = email_key(account.email)
        return token

    def session(self, token: str) -> Account | None:
        """The account a session token is logged in as, or None."""
        with self._lock:
            key = self._sessions.get(token)
            return self._accounts.get(key) if key else None

    def close_session(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    # --- newsletter ----------------------------------------------------------------------

    def subscribe(self, email: str) -> Subscriber:
        """The subscriber for `email`, new and unconfirmed unless it signed up before."""
        key = email_key(email)
        with self._lock:
            for subscriber in self._subscribers.values():
                if email_key(subscriber.email) == key:
                    return subscriber
            subscriber = Subscriber(email.strip(), secrets.token_urlsafe(16))
            self._subscribers[subscriber.token] = subscriber
        return subscriber

    def confirm(self, token: str) -> tuple[Subscriber, bool] | None:
        """(subscriber, whether this confirmed it just now) for a confirmation token, or None."""
        with self._lock:
            subscriber = self._subscribers.get(token)
            if subscriber is None:
                return None
            first_time = not subscriber.confirmed
            subscriber.confirmed = True
        return subscriber, first_time

    def add_message(self, message: ContactMessage) -> None:
        with self._lock:
            self.messages.append(message)

"""The dummy customer of a scenario: a fresh identity per run, so orders and emails never mix."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

_SYMBOLS = "!#%+-.=?@_"


@dataclass(frozen=True)
class Customer:
    """Who the scenario is: what it types into forms, and what later checks look for."""

    email: str
    name: str
    first_name: str
    password: str
    id: str

    def to_dict(self) -> dict[str, Any]:
        """The `customer` entry of a scenario's outputs."""
        return {
            "email": self.email,
            "name": self.name,
            "first_name": self.first_name,
            "password": self.password,
        }


def slug(text: str) -> str:
    """`Guest Checkout!` -> `guest-checkout`: safe in an email's local part and a folder name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "scenario"


def new_password(length: int = 16) -> str:
    """A random password that passes the usual rules: upper, lower, digit and a symbol."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(length - 1))
        if (
            any(c.islower() for c in body)
            and any(c.isupper() for c in body)
            and any(c.isdigit() for c in body)
        ):
            return body + secrets.choice(_SYMBOLS)


def new_customer(pattern: str, name: str, *, run_id: str, scenario: str) -> Customer:
    """A customer whose email is `pattern` with `{id}` = "<run_id>-<scenario slug>",
    `{run_id}` and `{scenario}` filled in (the pattern was validated with the config)."""
    scenario_slug = slug(scenario)
    ident = f"{run_id}-{scenario_slug}"
    email = pattern.format(id=ident, run_id=run_id, scenario=scenario_slug)
    first = name.split()[0] if name.split() else name
    return Customer(email=email, name=name, first_name=first, password=new_password(), id=ident)

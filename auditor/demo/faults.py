"""The demo shop's switchable faults: one flag each, parsed from `--fault` values or an env var.

A fault is "name" or "name=value". The healthy shop has none. The known names grow with the
shop's features; an unknown name is rejected with the list of known ones, so a typo never
silently runs a healthy shop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_VAR = "AUDITOR_DEMO_FAULTS"

# name -> what it breaks (shown in errors and `--help`).
KNOWN: dict[str, str] = {
    "dead-link": "a footer link points to a page that answers 404",
    "dead-image": "a product image answers 404",
    "stale-sitemap": "the sitemap lists a removed page and misses a linked one",
    "checkout-error": "the pay step answers 500",
    "thank-you-dead-link": "a link on the thank-you page answers 404",
    "js-error": "the checkout and thank-you pages throw an uncaught error on load",
    "declined-after-charge": "the gateway charges the card, the page says declined",
    "double-submit": "the pay button stays enabled and each pay POST charges again",
    "no-email": "no order confirmation email is sent (the account email still is)",
    "slow-email": "the order confirmation is sent SECONDS late (slow-email=SECONDS, default 10)",
    "duplicate-email": "the order confirmation is sent twice",
    "merge-tag": "the order confirmation greets 'Hi {{ first_name }},' literally",
    "email-dead-link": "the order confirmation's returns link points to a page that answers 404",
    "dead-download": "every download link answers 404 (the links still appear)",
    "login-broken": "login rejects the password of every account created at checkout",
    "no-autoresponse": "the contact form sends no auto-response email",
    "slow-gateway": "the pay step answers SECONDS after the charge (slow-gateway=SECONDS, default 45)",
    "utm-stripped": "the spring campaign's redirect /go/spring drops the query (utm_* and gclid are lost)",
    "coupon-expired": "the cart rejects the spring coupon SPRING20 as expired",
    "landing-noindex": "the spring sale landing page says noindex",
    "js-dead-link": "the About page's JavaScript-filled product grid links to a product that answers 404",
    "third-party-script-error": "the payment provider's widget script (another host) throws on info pages",
}

# Behaviours: not faults (nothing is broken), but the other ways real shops do things, switched on
# the same way ("name=value"). name -> (what it changes, the values it takes; the first is the default).
BEHAVIOURS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ledger": (
        'how /_test/ledger gives the charges: minor (integer cents), decimal ("497.00" strings), '
        "nested (data.charges[*] with amount.value a JSON number), paginated (one charge a page, a "
        "`next` URL), cursor (one charge a page, meta.next_cursor sent back as ?cursor=)",
        ("minor", "decimal", "nested", "paginated", "cursor"),
    ),
    "downloads": (
        "download links: plain (/download/<random token>) or signed (/downloads/<value:timestamp:"
        "signature>/, Django-signing style, different for every order, verified by the shop)",
        ("plain", "signed"),
    ),
    "account": (
        "My account: one-page (the orders on /account) or orders-page (/account links to "
        "/account/orders, where the orders and their downloads are)",
        ("one-page", "orders-page"),
    ),
    "smtp": (
        "how emails are handed to SMTP: crlf (smtplib.send_message) or bare-lf (sendmail of "
        "msg.as_bytes(): bare LF line ends, and the HTML part on one line of over 1,000 characters)",
        ("crlf", "bare-lf"),
    ),
}

# Faults whose value is a number of seconds, with the value used when none is given.
SECONDS_DEFAULTS: dict[str, float] = {"slow-email": 10.0, "slow-gateway": 45.0}


@dataclass(frozen=True)
class Faults:
    """The faults switched on, with their values ("" when given without one)."""

    active: Mapping[str, str] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.active

    def names(self) -> list[str]:
        """The fault names switched on, sorted (behaviours are not faults)."""
        return sorted(n for n in self.active if n not in BEHAVIOURS)

    def behaviour(self, name: str) -> str:
        """The value of behaviour `name`: as switched on, else its default."""
        return self.active.get(name) or BEHAVIOURS[name][1][0]

    def seconds(self, name: str) -> float:
        """The value of a seconds-valued fault (its default when given without one); 0 when off."""
        if name not in self.active:
            return 0.0
        value = self.active[name]
        return float(value) if value else SECONDS_DEFAULTS[name]


def parse_faults(values: list[str], environ: Mapping[str, str] | None = None) -> Faults:
    """Parse fault flags ("name" or "name=value") plus those in $AUDITOR_DEMO_FAULTS.

    Raises ValueError naming every unknown fault and listing the known ones, or naming a
    seconds-valued fault whose value is not a number.
    """
    env = os.environ if environ is None else environ
    items = [v.strip() for v in values]
    items += [v.strip() for v in env.get(ENV_VAR, "").split(",")]
    active: dict[str, str] = {}
    unknown: list[str] = []
    for item in items:
        if not item:
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        if name in BEHAVIOURS and value.strip() not in BEHAVIOURS[name][1]:
            choices = ", ".join(BEHAVIOURS[name][1])
            raise ValueError(f"bad demo shop behaviour {item!r}: {name} takes one of {choices}")
        if name not in KNOWN and name not in BEHAVIOURS:
            unknown.append(name)
            continue
        active[name] = value.strip()
    if unknown:
        raise ValueError(
            f"unknown demo shop fault(s): {', '.join(unknown)}. Known faults: {', '.join(sorted(KNOWN))}."
        )
    bad = [f"{name}={active[name]}" for name in SECONDS_DEFAULTS if not _is_seconds(active.get(name, ""))]
    if bad:
        raise ValueError(
            f"bad demo shop fault value(s): {', '.join(bad)}. Give a number of seconds, e.g. slow-email=2."
        )
    return Faults(active)


def _is_seconds(value: str) -> bool:
    """Whether a fault value is empty (use the default) or a non-negative number of seconds."""
    if not value:
        return True
    try:
        seconds = float(value)
    except ValueError:
        return False
    return 0 <= seconds < float("inf")

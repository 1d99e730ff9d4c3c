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
}


@dataclass(frozen=True)
class Faults:
    """The faults switched on, with their values ("" when given without one)."""

    active: Mapping[str, str] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.active

    def names(self) -> list[str]:
        """The fault names switched on, sorted."""
        return sorted(self.active)


def parse_faults(values: list[str], environ: Mapping[str, str] | None = None) -> Faults:
    """Parse fault flags ("name" or "name=value") plus those in $AUDITOR_DEMO_FAULTS.

    Raises ValueError naming every unknown fault and listing the known ones.
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
        if name not in KNOWN:
            unknown.append(name)
            continue
        active[name] = value.strip()
    if unknown:
        raise ValueError(
            f"unknown demo shop fault(s): {', '.join(unknown)}. Known faults: {', '.join(sorted(KNOWN))}."
        )
    return Faults(active)

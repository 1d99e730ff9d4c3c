"""Tracking parameters: which query parameters a campaign needs to survive, and which were lost.

A pattern is a parameter name, or a name ending in `*` (a prefix): `utm_*` matches every UTM
parameter. Names compare case-insensitively; values exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit

# The parameters analytics, ad networks and affiliate programmes read from a landing URL.
DEFAULT_TRACKING_PARAMS: tuple[str, ...] = (
    "utm_*",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "msclkid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "irclickid",
    "clickid",
    "ref",
    "aff",
    "aff_id",
    "affid",
    "affiliate",
    "affiliate_id",
    "partner",
    "partner_id",
    "awc",
    "sscid",
)


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether the parameter `name` is one of `patterns` (case-insensitive; `x*` is a prefix)."""
    low = name.lower()
    for p in patterns:
        p = p.lower()
        if (p.endswith("*") and low.startswith(p[:-1])) or low == p:
            return True
    return False


def tracking(url: str, patterns: Sequence[str]) -> dict[str, str]:
    """The tracking parameters of `url` (name -> first value); {} for a URL that does not parse."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    out: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if matches(name, patterns):
            out.setdefault(name, value)
    return out


def lost(expected: dict[str, str], url: str) -> dict[str, str]:
    """The `expected` parameters that `url` no longer carries with the same value (name -> value)."""
    try:
        have: dict[str, list[str]] = {}
        for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
            have.setdefault(name, []).append(value)
    except ValueError:
        return dict(expected)
    return {n: v for n, v in expected.items() if v not in have.get(n, [])}

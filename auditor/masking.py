"""What changes from run to run in a URL, replaced by `{token}`, so one problem keeps one fingerprint.

Shops put per-order values in links: signed download tokens (`value:timestamp:signature`), JWTs,
base64url and hex strings, UUIDs, order numbers and the customer's email. A finding's fingerprint
and the URL it shows leave them out; the real URL stays in the finding's evidence.

A token is recognised by its structure or its character mix, never by its length alone, so that
ordinary slugs (`/products/blue-linen-shirt`, `/2024/05/`, `/category/shoes-42`) stay as they are:

- a UUID, or 16 or more hex digits;
- a JWT: three dot-separated base64url parts, the first starting with `eyJ` or one of them opaque;
- a signed value: parts joined by `:`, one of them opaque;
- an opaque string: 16 or more base64url characters whose letters, digits and case change so often
  that they cannot be words (words and numbers come in runs; random characters do not);
- a value the run knows to be its own (`known`): the run id, the customer's email, the order number;
- any mix of letters and digits (8 or more) in a place that holds tokens: the segment after
  `/download/`, `/token/`, `/reset/`, `/verify/`, ... and the value of `?token=`, `?sig=`, `?code=`.

Pure functions of strings: no I/O, never raises on any input, and masking twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

TOKEN = "{token}"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Scheme and authority: kept as written.
_PREFIX = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?(?://[^/?#]*)?")
_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
_B64 = re.compile(r"[A-Za-z0-9_-]+")
# Base64 padding, as written or percent-encoded.
_PADDING = re.compile(r"(=|%3[dD])+$")
# A run of letters and digits inside a longer piece (e.g. `invoice-<token>.pdf`).
_ALNUM_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{16,}(?![A-Za-z0-9])")
# A known value shorter than this is masked only when it is a whole path segment or query value:
# order number 7 must not turn /2017/ into /201{token}/.
_MIN_KNOWN_INSIDE = 4
_MIN_OPAQUE = 16
# Path segments and query names whose next segment or value is a per-order secret.
_TOKEN_NAMES = re.compile(
    r"(downloads?|dl|d|t|tokens?|keys?|sig|signature|signed|hash|code|auth|access_token|id_token|"
    r"session|sid|reset|reset-password|password-reset|verify|verification|confirm|confirmation|"
    r"activate|activation|invite|invitation|unsubscribe|magic|magic-link|share|files?|invoice|receipt)"
)
# Letters no written word strings together: five consonants in a row (`y` counts as a vowel).
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xz]+")


def _class(ch: str) -> str:
    return "d" if ch.isdigit() else "u" if ch.isupper() else "l" if ch.islower() else "s"


def _switches(text: str) -> int:
    """How often the class (lower, upper, digit) changes between neighbouring characters of one
    word; a capital followed by lowercase starts a `Title` word (`ProMax`) and is no change."""
    count = 0
    for i in range(1, len(text)):
        a, b = _class(text[i - 1]), _class(text[i])
        if a == b or "s" in (a, b):
            continue
        if a == "u" and b == "l" and (i < 2 or _class(text[i - 2]) != "u"):
            continue
        if a == "l" and b == "u" and i + 1 < len(text) and _class(text[i + 1]) == "l":
            continue
        count += 1
    return count


def _opaque(text: str) -> bool:
    """Whether `text` (base64url characters, maybe padded) looks random rather than written.

    Words and numbers come in runs of one class; random characters change class at about every
    other character (measured: half of all neighbours in base64url, 0.4 in lowercase base36, under
    0.25 in slugs such as `iPhone15ProMax-256GB-Blue` or `ThisIsMyGreatProductName`). Some random
    strings change less (base36, or by chance); they are opaque too when their lowercase letters
    have few vowels (a fifth in random letters, a third and more in words; acronyms and model
    numbers such as `GTX1080Ti` are uppercase), or five consonants in a row (`dgnqt`).
    """
    core = _PADDING.sub("", text)
    if len(core) < _MIN_OPAQUE or not _B64.fullmatch(core):
        return False
    separators = core.count("-") + core.count("_")
    switches = _switches(core)
    if switches < 4:
        return False
    ratio = switches / (len(core) - separators)
    if ratio >= 0.25 or (len(core) >= 32 and switches >= 8 and ratio >= 0.2):
        return True
    if ratio < 0.15:
        return False
    lower = [ch for ch in core if ch.islower()]
    if len(lower) >= 6 and sum(ch in "aeiou" for ch in lower) / len(lower) < 0.25:
        return True
    return max((len(run) for run in _CONSONANTS.findall(core)), default=0) >= 5


def is_token(piece: str) -> bool:
    """Whether a whole path segment or query value is a per-run token."""
    if not piece or piece == TOKEN:
        return False
    if _UUID.fullmatch(piece) or (len(piece) >= 16 and _HEX.fullmatch(piece)):
        return True
    core = _PADDING.sub("", piece)
    dots = core.split(".")
    jwt_shape = len(dots) == 3 and all(len(p) >= 4 and _B64.fullmatch(p) for p in dots)
    if jwt_shape and (dots[0].startswith("eyJ") or any(_opaque(p) for p in dots)):
        return True
    colons = piece.split(":")
    if len(colons) >= 2 and all(colons):
        parts = [_PADDING.sub("", p) for p in colons]
        if all(re.fullmatch(r"[A-Za-z0-9_.\-]+", p) for p in parts) and any(
            _opaque(p) or is_token(p) or (p.startswith("eyJ") and len(p) >= 8) for p in parts
        ):
            return True
    return _opaque(core)


def _mask_inside(piece: str) -> str:
    """`piece` with the tokens inside it masked (a UUID or hex run or opaque run among other text)."""
    if is_token(piece):
        return TOKEN
    piece = _UUID.sub(TOKEN, piece)
    piece = _HEX.sub(TOKEN, piece)
    return _ALNUM_RUN.sub(lambda m: TOKEN if _opaque(m.group()) else m.group(), piece)


def _forms(value: str) -> set[str]:
    """`value` as it may be written in a URL: as is and percent-encoded."""
    return {value, quote(value, safe=""), quote(value, safe="@"), quote_plus(value)}


def _mask_known(text: str, known: list[str]) -> str:
    for value in known:
        for form in sorted(_forms(value), key=len, reverse=True):
            if len(form) >= _MIN_KNOWN_INSIDE and form in text:
                pattern = rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])"
                text = re.sub(pattern, lambda _m: TOKEN, text)
    return text


def _carried(piece: str, after: str) -> bool:
    """Whether `piece` is a token by where it is: after `/download/` or in `?token=`, any string of
    8 or more base64url characters that mixes letters and digits or cases inside a word is one."""
    if _TOKEN_NAMES.fullmatch(after.lower()) is None:
        return False
    core = _PADDING.sub("", piece)
    if len(core) < 8 or not _B64.fullmatch(core):
        return False
    # A slug there (`shoes-42`) is words of one kind each; a token mixes them inside a word.
    return any(_switches(word) > 0 for word in re.split(r"[-_]", core))


def _mask_piece(piece: str, known: list[str], after: str = "") -> str:
    if piece in known or _carried(piece, after):
        return TOKEN
    return _mask_inside(_mask_known(piece, known))


def _mask_query(query: str, known: list[str]) -> str:
    out = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        out.append(name + eq + _mask_piece(value, known, name) if eq else _mask_piece(name, known))
    return "&".join(out)


def _known(values: Iterable[object]) -> list[str]:
    cleaned = {str(v).strip() for v in values if v is not None and not isinstance(v, bool)}
    return sorted((v for v in cleaned if v and v != TOKEN), key=len, reverse=True)


def mask_url(url: str, known: Iterable[object] = ()) -> str:
    """`url` with every per-run value in its path, query and fragment shown as `{token}`.

    The scheme and host are kept (they are where the problem is). `known`: values of this run
    (its id, the customer's email, order numbers) masked wherever they appear. Splits the URL as
    text, so that a URL nothing is masked in comes back exactly as given, however malformed.
    """
    values = _known(known)
    prefix = _PREFIX.match(url)
    head = prefix.group() if prefix else ""
    rest, hash_, fragment = url[len(head) :].partition("#")
    path, qmark, query = rest.partition("?")
    segments = path.split("/")
    masked_path = "/".join(
        _mask_piece(p, values, segments[i - 1] if i else "") for i, p in enumerate(segments)
    )
    return (
        head
        + masked_path
        + qmark
        + (_mask_query(query, values) if query else "")
        + hash_
        + (_mask_query(fragment, values) if fragment else "")
    )


def mask_text(text: str, known: Iterable[object]) -> str:
    """`text` with the run's own values (`known`) shown as `{token}`; other words are kept."""
    return _mask_known(text, _known(known))

"""The spelling check of a campaign email's text (pyspellchecker, English by default).

Only words a reader sees are checked, and not every token is a word: URLs, email addresses,
codes (anything with a digit, `SPRING20`), words in capitals (`SALE`, product names such as
`NIGHTHAWK`), words with inner capitals (`iPhone`, `PayPal`) and merge tags are left out, and so
are the shop's own words (`words`, `words_file`: brand and product names). Each misspelt word
is reported once, with the likeliest correction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_URL = re.compile(r"""(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>"']+""", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\*\|.*?\|\*|%%.*?%%|\$\{.*?\}")
# A word: letters with inner apostrophes or hyphens ("don't", "re-use"); digits glue into codes.
_TOKEN = re.compile(r"[^\W_][\w'’-]*")


@dataclass(frozen=True)
class Misspelling:
    word: str
    suggestion: str | None
    context: str


def words_of(text: str) -> list[tuple[str, int]]:
    """The words of `text` worth checking, with their position, in order (see the module doc)."""
    blanked = _TAG.sub(" ", text)
    blanked = _URL.sub(lambda m: " " * len(m.group(0)), blanked)
    blanked = _EMAIL.sub(lambda m: " " * len(m.group(0)), blanked)
    out: list[tuple[str, int]] = []
    for m in _TOKEN.finditer(blanked):
        token = m.group(0).replace("’", "'").strip("'-")
        for part in token.split("-"):
            part = part.strip("'")
            if not part or any(c.isdigit() or c == "_" for c in part):
                continue
            if len(part) < 2 or not part.replace("'", "").isalpha():
                continue
            if part.isupper() or any(c.isupper() for c in part[1:]):
                continue
            out.append((part, m.start()))
    return out


@lru_cache(maxsize=4)
def _checker(language: str) -> Any:
    from spellchecker import SpellChecker

    return SpellChecker(language=language)


def language_problem(language: str) -> str | None:
    """Why `language` cannot be checked (no dictionary), or None."""
    try:
        _checker(language)
    except (ValueError, OSError) as e:
        return f"no spelling dictionary for language {language!r} ({e})"
    return None


def misspellings(text: str, *, language: str = "en", words: Iterable[str] = ()) -> list[Misspelling]:
    """Each distinct misspelt word of `text` once (in order of first appearance)."""
    known = {w.strip().lower() for w in words if w.strip()}
    found = [(w, pos) for w, pos in words_of(text) if w.lower() not in known]
    if not found:
        return []
    checker = _checker(language)
    unknown = checker.unknown([w for w, _ in found])
    out: list[Misspelling] = []
    seen: set[str] = set()
    for word, pos in found:
        low = word.lower()
        if low not in unknown or low in seen:
            continue
        seen.add(low)
        suggestion = checker.correction(low)
        context = " ".join(text[max(0, pos - 30) : pos + len(word) + 30].split())
        out.append(Misspelling(word, suggestion if suggestion and suggestion != low else None, context))
    return out


def read_words(path: str) -> list[str]:
    """A word list file: one word (or several, space-separated) a line; `#` starts a comment."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [w for line in f for w in line.split("#", 1)[0].split()]

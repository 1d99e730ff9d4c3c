"""What is wrong *inside* an email, found from its text alone: unrendered merge tags.

A template that failed to render leaves its syntax in the mail: `{{ first_name }}`, `{% if %}`,
Mailchimp's `*|FNAME|*`, `%%FirstName%%`, `[FIRSTNAME]`, `${name}`. A template that rendered a
missing value leaves a programming language's "nothing": `undefined`, `null`, `None`, `NaN`.

Only what a reader sees is searched: the subject, the text part, and the HTML rendered to text
(attribute values such as link targets are not text), with URLs blanked out first, so a `{{` in
a tracking link or `?q=null` in a query string is not reported.

The "nothing" words are also ordinary English ("None of our products..."), so each of them is
reported only where a value would stand (case-sensitive, whole words):
- after a greeting: "Hi None", "Dear undefined";
- right after `#` or a currency sign: "Order #undefined", "$NaN";
- as the whole value after a label's colon: "Order number: null" (not "Note: None of these...");
- before a comma or colon: "null, thanks for your order";
- alone on a line, or as a whole table cell.
`NaN` is not a word, so it is reported anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from auditor.mail.message import Message
from auditor.mail.render import html_to_text

Part = Literal["subject", "text", "html"]

_TAGS = re.compile(
    r"""
      \{\{[^{}\n]{0,100}\}\}          # {{ first_name }}  (Jinja, Liquid, Handlebars, Django)
    | \{%[^\n]{0,100}?%\}             # {% if vip %}
    | \*\|[^|\s*]{1,60}\|\*           # *|FNAME|*          (Mailchimp)
    | %%[^%\s]{1,60}%%                # %%FirstName%%      (Salesforce, Campaign Monitor)
    | \[(?=[A-Z0-9_ ]{3,}\])[A-Z][A-Z0-9_]*(?:[ _][A-Z0-9_]+)*\]  # [FIRST_NAME], 3+ characters
    | \$\{\s*[A-Za-z_][^{}\n]{0,60}\}  # ${name}           (JavaScript template literals, Java EL)
    """,
    re.VERBOSE,
)
_NOTHING = r"(?:undefined|null|None|NaN)"
_NOTHING_AT_VALUE = re.compile(
    rf"""
      (?<![\w-])(?:Hi|Hello|Hey|Dear|Welcome|Thanks|hi|hello|hey|dear)\s+(?P<greeted>{_NOTHING})\b
    | [#$€£¥][ \t]*(?P<after>{_NOTHING})\b
    | :[ \t]*(?P<labelled>{_NOTHING})(?=[ \t]*(?:$|[\n\t,.;!)]))
    | (?<![\w.-])(?P<before>{_NOTHING})[ \t]*[,:]
    | (?<![\w.-])(?P<nan>NaN)(?![\w-])
    """,
    re.VERBOSE | re.MULTILINE,
)
_NOTHING_ALONE = re.compile(rf"{_NOTHING}")
_URL = re.compile(r"""(?:https?://|www\.)[^\s<>"']+""", re.IGNORECASE)
_CONTEXT = 30


@dataclass(frozen=True)
class MergeTag:
    """An unrendered template placeholder: the token as the reader sees it, the part, the words around it."""

    token: str
    part: Part
    context: str


def find_merge_tags(message: Message) -> list[MergeTag]:
    """Every unrendered merge tag in the subject, the text part and the HTML part, each once per part."""
    parts: list[tuple[Part, str]] = [("subject", message.subject)]
    html_text = html_to_text(message.html) if message.html else ""
    # An HTML-only email's text is derived from the HTML: searching both would report everything twice.
    if message.text and message.text != html_text:
        parts.append(("text", message.text))
    if html_text:
        parts.append(("html", html_text))
    found: list[MergeTag] = []
    seen: set[tuple[str, Part]] = set()
    for part, text in parts:
        visible = _blank_urls(text)
        for start, end in sorted(_spans(visible)):
            token = visible[start:end]
            if (token, part) not in seen:
                seen.add((token, part))
                found.append(MergeTag(token, part, _context(visible, start, end)))
    return found


def _spans(text: str) -> set[tuple[int, int]]:
    spans = {m.span() for m in _TAGS.finditer(text)}
    for m in _NOTHING_AT_VALUE.finditer(text):
        group = next(g for g in ("greeted", "after", "labelled", "before", "nan") if m.group(g) is not None)
        spans.add(m.span(group))
    spans.update(_alone(text))
    return spans


def _alone(text: str) -> Iterator[tuple[int, int]]:
    """Spans of a "nothing" word that is a whole line or a whole tab-separated table cell."""
    offset = 0
    for line in text.split("\n"):
        cell_start = offset
        for cell in line.split("\t"):
            word = cell.strip()
            if _NOTHING_ALONE.fullmatch(word):
                start = cell_start + cell.index(word)
                yield start, start + len(word)
            cell_start += len(cell) + 1
        offset += len(line) + 1


def _blank_urls(text: str) -> str:
    """`text` with every URL replaced by spaces of the same length, so offsets stay valid."""
    return _URL.sub(lambda m: " " * len(m.group(0)), text)


def _context(text: str, start: int, end: int) -> str:
    """The words around a token, on one line, marked with … where cut."""
    lo, hi = max(0, start - _CONTEXT), min(len(text), end + _CONTEXT)
    snippet = " ".join(text[lo:hi].split())
    return f"{'…' if lo > 0 else ''}{snippet}{'…' if hi < len(text) else ''}"

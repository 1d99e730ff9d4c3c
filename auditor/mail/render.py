"""HTML email -> the text a reader sees, with paragraphs, line breaks and table cells kept apart.

The merge-tag rules need to know what stands alone on a line or in a table cell, and the text
derived for an HTML-only email should read like the email. Scripts, styles and the `<head>` are
never shown; attribute values (URLs, alt texts) are not text. Table cells are separated by a tab.
Whitespace collapses as a browser collapses it (a `<pre>` keeps its line breaks, not its indent).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

_HIDDEN = frozenset({"head", "script", "style", "template", "title", "noscript"})
_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "div",
        "dl",
        "dt",
        "dd",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    ]
)
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\n\r\f\u00a0]+")
_RUNS = re.compile(r" {2,}")
_NEWLINE = "\n"
_CELL = "\t"


def html_to_text(html: str) -> str:
    """The visible text of `html`: one line per block or `<br>` (no blank lines), cells joined by tabs."""
    if not html.strip():
        return ""
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    return _tidy(_walk(root))


def _walk(root: LexborNode) -> list[str]:
    """Text pieces and layout markers, in document order (an explicit stack: emails nest deep)."""
    out: list[str] = []
    stack: list[LexborNode | str] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        tag = item.tag
        if tag == "-text":
            text = item.text_content or ""
            out.append(text if _inside_pre(item) else _SPACES.sub(" ", text))
            continue
        if tag is None or tag.startswith("-") or tag in _HIDDEN:
            continue
        if tag == "br":
            out.append(_NEWLINE)
            continue
        if tag in _BLOCKS:
            out.append(_NEWLINE)
            stack.append(_NEWLINE)
        elif tag in _CELLS:
            out.append(_CELL)
            stack.append(_CELL)
        stack.extend(reversed(list(item.iter(include_text=True))))
    return out


def _inside_pre(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "pre":
            return True
        parent = parent.parent
    return False


def _tidy(pieces: list[str]) -> str:
    lines: list[str] = []
    for raw in "".join(pieces).split(_NEWLINE):
        cells = [_RUNS.sub(" ", c).strip() for c in raw.split(_CELL)]
        line = _CELL.join(c for c in cells if c)
        if line:
            lines.append(line)
    return "\n".join(lines)

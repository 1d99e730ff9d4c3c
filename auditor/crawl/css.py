"""What a browser loads from CSS: `url()`, `image-set()` images and `@import`ed stylesheets.

CSS is read with tinycss2's tokenizer (the CSS Syntax standard), not a regex: a `url(` inside a
comment or a string is not a URL, `url("a b.png")` and `url(a\\ b.png)` are one URL, and broken
CSS (an unclosed block, a bad `url(`) is read as far as a browser reads it, never raised.

Element names in findings say where the CSS was (`css` for a linked stylesheet, `style` for a
`<style>` block, `[style]` for a style attribute) and what loads the URL: `url()` (an image:
background, border-image, cursor, mask...), `@font-face url()` (a font), `@import` (a stylesheet).
So `css url()`, `style @import`, `[style] url()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# tinycss2 ships no type information (pyproject's mypy overrides do not list it).
import tinycss2  # type: ignore[import-untyped]
from tinycss2.bytes import decode_stylesheet_bytes  # type: ignore[import-untyped]

_IMAGE_SETS = frozenset({"image-set", "-webkit-image-set"})
# Deeper nesting than this is not a stylesheet anyone wrote; stop rather than recurse forever.
_MAX_DEPTH = 64


def decode(body: bytes, content_type: str = "") -> str:
    """The text of a stylesheet: BOM, then the Content-Type charset, then `@charset`, then UTF-8."""
    charset = None
    low = content_type.lower()
    if "charset=" in low:
        charset = low.split("charset=", 1)[1].split(";", 1)[0].strip(" \"'") or None
    text, _ = decode_stylesheet_bytes(body, protocol_encoding=charset)
    return str(text)


def css_links(text: str, where: str = "css") -> list[tuple[str, str]]:
    """Every URL the CSS `text` loads, as (raw URL, element name); `where` prefixes the name."""
    out: list[tuple[str, str]] = []
    _walk(tinycss2.parse_component_value_list(text, skip_comments=True), where, False, 0, out)
    return out


def _walk(tokens: Iterable[Any], where: str, font: bool, depth: int, out: list[tuple[str, str]]) -> None:
    if depth > _MAX_DEPTH:
        return
    at: str | None = None  # the at-rule whose prelude we are in
    for tok in tokens:
        kind = tok.type
        if kind == "at-keyword":
            at = tok.lower_value
            continue
        if kind == "url":
            _add(out, tok.value, where, "@import" if at == "import" else _url(font))
        elif kind == "string" and at == "import":
            _add(out, tok.value, where, "@import")
        elif kind == "function":
            name = tok.lower_name
            if name == "url":
                # `url("...")` with a quoted string is a function, not a url token.
                arg = next((a for a in tok.arguments if a.type == "string"), None)
                if arg is not None:
                    _add(out, arg.value, where, "@import" if at == "import" else _url(font))
            elif name in _IMAGE_SETS:
                for a in tok.arguments:
                    if a.type == "string":
                        _add(out, a.value, where, "url()")
                _walk(tok.arguments, where, font, depth + 1, out)
            else:
                _walk(tok.arguments, where, font, depth + 1, out)
        elif kind in ("{} block", "[] block", "() block"):
            _walk(tok.content, where, font or at == "font-face", depth + 1, out)
            at = None
        elif kind == "literal" and tok.value == ";":
            at = None


def _url(font: bool) -> str:
    return "@font-face url()" if font else "url()"


def _add(out: list[tuple[str, str]], value: str, where: str, what: str) -> None:
    value = value.strip()
    # `url(#filter)` points inside the document (an SVG filter or marker): nothing to fetch.
    if value and value[0] != "#":
        out.append((value, f"{where} {what}"))

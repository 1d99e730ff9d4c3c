"""Link extraction: every URL a browser would load or a customer could click on one page.

Uses selectolax's lexbor parser (about 45x faster than BeautifulSoup on real pages), which also
copes with malformed HTML. Returns raw (unresolved) links with the element they came from, and
the page's fragment targets (`id` attributes and `<a name>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser

# One selector per tag, so that no element is returned twice.
_LINKS = (
    "a[href], area[href], img, source, script[src], link[href], iframe[src], video[src], "
    "audio[src], meta[http-equiv], base[href]"
)
_TARGETS = "[id], a[name]"
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_REFRESH_URL = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?["']?([^"']*)""", re.IGNORECASE)
_LINK_RELS = (
    ("stylesheet", "link[rel=stylesheet]"),
    ("preload", "link[rel=preload]"),
    ("canonical", "link[rel=canonical]"),
)


@dataclass(slots=True)
class Page:
    """What one HTML page links to and which fragments it defines."""

    links: list[tuple[str, str]] = field(default_factory=list)
    ids: frozenset[str] = frozenset()
    base: str | None = None


def decode(body: bytes, content_type: str) -> str:
    """The text of an HTML body, in the charset of the Content-Type or `<meta charset>`."""
    charset = None
    low = content_type.lower()
    if "charset=" in low:
        charset = low.split("charset=", 1)[1].split(";", 1)[0].strip(" \"'")
    if charset is None:
        m = _CHARSET.search(body, 0, 4096)
        if m:
            charset = m.group(1).decode("ascii", "replace")
    if charset is None or charset.replace("-", "").lower() == "utf8":
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            charset = "windows-1252"  # what browsers assume for undeclared legacy pages
    try:
        return body.decode(charset, "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def refresh_target(content: str) -> str | None:
    """The URL of a `Refresh` header or `<meta http-equiv=refresh>` value, if it names one."""
    m = _REFRESH_URL.match(content)
    url = m.group(1).strip() if m else ""
    return url or None


def extract(body: bytes, content_type: str = "", *, targets: bool = True) -> Page:
    """Parse `body` and return its links (raw href, element) and, if `targets`, its ids/names."""
    tree = LexborHTMLParser(decode(body, content_type))
    page = Page()
    out = page.links
    for node in tree.css(_LINKS):
        tag = node.tag
        attrs = node.attributes
        if tag == "a" or tag == "area":
            _add(out, attrs.get("href"), "a[href]")
        elif tag == "img":
            _add(out, attrs.get("src"), "img[src]")
            _srcset(out, attrs.get("srcset"), "img[srcset]")
        elif tag == "source":
            _add(out, attrs.get("src"), "source[src]")
            _srcset(out, attrs.get("srcset"), "source[srcset]")
        elif tag == "link":
            _link(out, attrs)
        elif tag == "meta":
            if (attrs.get("http-equiv") or "").lower() == "refresh":
                _add(out, refresh_target(attrs.get("content") or ""), "meta[http-equiv=refresh]")
        elif tag == "base":
            if page.base is None:
                page.base = (attrs.get("href") or "").strip() or None
        else:
            _add(out, attrs.get("src"), f"{tag}[src]")
    if targets:
        ids: set[str] = set()
        for node in tree.css(_TARGETS):
            attrs = node.attributes
            for name in ("id", "name"):
                v = attrs.get(name)
                if v:
                    ids.add(v)
        page.ids = frozenset(ids)
    return page


def _add(out: list[tuple[str, str]], value: str | None, element: str) -> None:
    if value:
        value = value.strip()
        if "\t" in value or "\n" in value or "\r" in value:
            # Browsers drop tabs and newlines anywhere in a URL (WHATWG URL parsing).
            value = value.replace("\t", "").replace("\n", "").replace("\r", "")
        if value:
            out.append((value, element))


def _srcset(out: list[tuple[str, str]], value: str | None, element: str) -> None:
    if not value:
        return
    for candidate in value.split(","):
        url = candidate.strip().split(" ", 1)[0]
        if url:
            out.append((url, element))


def _link(out: list[tuple[str, str]], attrs: dict[str, str | None]) -> None:
    rels = (attrs.get("rel") or "").lower().split()
    href = attrs.get("href")
    if any("icon" in r for r in rels):
        _add(out, href, "link[rel=icon]")
        return
    for rel, element in _LINK_RELS:
        if rel in rels:
            _add(out, href, element)
            return

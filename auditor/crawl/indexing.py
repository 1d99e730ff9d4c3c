"""Whether a page is meant to be in a sitemap, and which URLs are the same page.

A sitemap lists the pages a shop wants search engines to index, so `sitemap_missing_page` is
only for those. A page is NOT meant to be indexed when:
- it says so: `<meta name="robots" content="noindex">` (or `none`, or the same for `googlebot`),
  or an `X-Robots-Tag: noindex` header (also `X-Robots-Tag: googlebot: noindex`);
- it declares another page as its canonical (`<link rel="canonical">`): it is a duplicate;
- it is a form page: its main content (its `<main>`, or its `<body>` without one) is POST forms,
  i.e. at least half of that content's text is inside `<form method="post">` elements (a review,
  contact, login or cart form). A product page with an add-to-cart form has more text outside
  its form than in it, so it stays a page to index;
- robots.txt disallows it (the engine asks, even when the crawl itself ignores robots.txt).

One page, several URLs: `/` and `/index.html` (and `index.htm`, `index.php`, `default.aspx`...)
are one page; so are URLs that end at the same final URL or declare the same canonical. `page_key`
gives the spelling they share.

A page the crawl parses for its links gives these signals from the same tree (one parse a page);
otherwise only the `<head>` is parsed for the canonical and robots signals, and the body only
when it holds a POST form at all (a byte search decides).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from auditor.crawl.urls import MalformedURL, normalise, resolve

_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)
_POST_FORM = re.compile(rb"<form\b[^>]*\bmethod\s*=\s*[\"']?post", re.IGNORECASE)
_INDEX_FILE = re.compile(r"/(?:index|default)\.(?:html?|php|aspx?|jsp|shtml)(?=$|\?)", re.IGNORECASE)
_ROBOT_NAMES = frozenset({"robots", "googlebot"})


@dataclass(frozen=True, slots=True)
class Signals:
    """What a page says about being indexed."""

    canonical: str = ""
    noindex: bool = False
    form: bool = False


def page_key(url: str) -> str:
    """The spelling shared by URLs that are one page (`/index.html` is `/`)."""
    return _INDEX_FILE.sub("/", url, count=1)


def signals(body: bytes, headers: dict[str, str], page_url: str) -> Signals:
    """The canonical URL (normalised, "" when none or unusable), noindex and form-page signals.

    Parses the `<head>` alone; a page the crawl parses anyway gets them from its tree
    (`signals_of`, through `auditor.crawl.extract.extract(..., index_url=...)`)."""
    end = _HEAD_END.search(body)
    head = LexborHTMLParser(body[: end.start()] if end else body[:65536])
    return signals_of(head, body, headers, page_url, whole=False)


def signals_of(
    tree: LexborHTMLParser, body: bytes, headers: dict[str, str], page_url: str, *, whole: bool = True
) -> Signals:
    """`signals` from a parsed page: the canonical and robots signals of its `<head>`. `whole`
    False: `tree` is the head alone, so the body is parsed if it has a POST form.

    An element a browser moves out of the head (after a stray `<div>` there, say) is in the body
    of the tree, and is not read: search engines ignore a canonical or robots tag in the body."""
    noindex = _says_noindex(headers.get("x-robots-tag", ""), header=True)
    head = tree.head
    canonical = ""
    if head is not None:
        for node in head.css("link[rel][href]"):
            rel = (node.attributes.get("rel") or "").lower().split()
            if "canonical" in rel:
                canonical = _absolute(page_url, node.attributes.get("href") or "")
                break
        for node in head.css("meta[name][content]"):
            name = (node.attributes.get("name") or "").strip().lower()
            if name in _ROBOT_NAMES and _says_noindex(node.attributes.get("content") or "", header=False):
                noindex = True
    return Signals(canonical=canonical, noindex=noindex, form=_is_form_page(body, tree if whole else None))


def _says_noindex(value: str, *, header: bool) -> bool:
    for part in value.lower().split(","):
        # X-Robots-Tag may name the crawler it is for: "googlebot: noindex".
        word = part.rsplit(":", 1)[-1].strip() if header else part.strip()
        if word in ("noindex", "none"):
            return True
    return False


def _absolute(page_url: str, href: str) -> str:
    try:
        url = normalise(resolve(page_url, href.strip()))[0]
    except MalformedURL:
        return ""
    return url if url.startswith(("http://", "https://")) else ""


def _is_form_page(body: bytes, parsed: LexborHTMLParser | None = None) -> bool:
    if not _POST_FORM.search(body):
        return False
    tree = parsed if parsed is not None else LexborHTMLParser(body)
    main = tree.css_first("main") or tree.body
    if main is None:
        return False
    posts = [f for f in main.css("form") if (f.attributes.get("method") or "").strip().lower() == "post"]
    if not posts:
        return False
    total = len(main.text(separator=" ").split())
    in_forms = sum(len(form.text(separator=" ").split()) for form in posts)
    return in_forms * 2 >= total

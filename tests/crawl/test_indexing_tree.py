"""A crawled page's indexing signals come from the tree its links were parsed from (one parse a
page): they must say what the head-only `signals` says, for real and for hostile pages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.crawl.extract import extract
from auditor.crawl.indexing import Signals, signals

PAGE = "https://shop.example/shoes/red"

CASES = [
    b'<html><head><link rel="alternate canonical" href="/shoes/red?colour=all">'
    b'<meta name="Robots" content="NOINDEX, follow"></head><body><a href=x>x</a></body></html>',
    b'<head><link rel=canonical href="https://shop.example/shoes/red"></head><p>x',
    b'<meta name="googlebot" content="none"><p>x',
    b'<meta name="description" content="noindex"><p>x',
    b"<body><main><p>Review</p><form method=post><textarea>a b c d e f</textarea></form></main></body>",
    b"<body><main><p>Plenty of words about a product here</p></main><form method=post>a b</form>",
    b"<body><form method='post'><input name=email></form></body>",
    b"",
    b"<p>no head at all</p>",
    b'<head><link rel=canonical href="http://[bad"></head>',  # a canonical nothing can parse: none
    b"\xff\xfe<head>\x00<meta name=robots content=noindex>",
]


def _from_tree(body: bytes, headers: dict[str, str] | None = None) -> Signals:
    page = extract(body, "text/html", index_url=PAGE, headers=headers or {})
    assert page.signals is not None
    return page.signals


def test_the_tree_gives_the_signals_the_head_gives() -> None:
    for body in CASES:
        assert _from_tree(body) == signals(body, {}, PAGE), body


def test_the_header_counts_from_the_tree_too() -> None:
    assert _from_tree(b"<p>x", {"x-robots-tag": "googlebot: noindex"}).noindex is True
    assert _from_tree(b"<p>x", {"x-robots-tag": "noarchive"}).noindex is False


def test_without_index_url_no_signals_are_read() -> None:
    assert extract(CASES[0], "text/html").signals is None


def test_a_canonical_in_the_body_is_not_read() -> None:
    # Search engines read rel=canonical and robots only in the <head>.
    body = b'<html><head></head><body><link rel=canonical href="/other"><meta name=robots content=noindex>'
    assert _from_tree(body) == Signals()
    assert signals(body, {}, PAGE) == Signals()


_PIECES = st.sampled_from(
    [
        "<head>",
        "</head>",
        "<body>",
        "<main>",
        "</main>",
        "<link rel=canonical href='/c'>",
        "<link rel='alternate' href='/alt'>",
        "<meta name=robots content='noindex'>",
        "<meta name=googlebot content='index'>",
        "<form method=post>",
        "</form>",
        "<p>words words words</p>",
        "<title>t</title>",
        "<script>var x = '</head>';</script>",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_for_generated_well_formed_heads_both_ways_agree(pieces: list[str]) -> None:
    # Pieces that keep the head well formed (no stray body element inside it) read the same both
    # ways; a page whose head a browser ends early may differ, and the tree is then the browser's view.
    body = "".join(pieces).encode()
    before_body = body.split(b"<body>", 1)[0]
    in_head, _, after_head = before_body.partition(b"</head>")
    if any(tag in in_head for tag in (b"<main>", b"<form", b"<p>", b"</main>", b"</form>", b"<script")):
        return
    if after_head.replace(b"</head>", b"").replace(b"<head>", b"").strip():
        return  # a tag between </head> and <body>: see the test below
    assert _from_tree(body) == signals(body, {}, PAGE)


def test_a_link_between_the_head_and_the_body_is_in_the_head_as_a_browser_parses_it() -> None:
    # HTML's "after head" insertion mode puts a <link> or <meta> seen there back into the head
    # (found by the property above): the tree reads it, as a browser and a search engine do.
    body = b"<html><head></head><link rel=canonical href='/c'><body><p>x</p></body></html>"
    assert _from_tree(body).canonical == "https://shop.example/c"

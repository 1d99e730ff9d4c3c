"""Which pages a sitemap should list, read from hostile page bytes and headers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from auditor.crawl.fetch import _redirect_target, _Refused, _retry_after
from auditor.crawl.indexing import page_key, signals

PAGE = "https://shop.example/shoes/red"


def test_index_files_are_the_folder_they_are_in() -> None:
    assert page_key("https://shop.example/index.html") == "https://shop.example/"
    assert page_key("https://shop.example/shop/INDEX.HTM") == "https://shop.example/shop/"
    assert page_key("https://shop.example/a/index.php?x=1") == "https://shop.example/a/?x=1"
    assert page_key("https://shop.example/default.aspx") == "https://shop.example/"
    assert page_key("https://shop.example/index.html.bak") == "https://shop.example/index.html.bak"
    assert page_key("https://shop.example/myindex.html") == "https://shop.example/myindex.html"
    assert page_key("https://shop.example/") == "https://shop.example/"


def test_it_reads_the_canonical_and_noindex_from_the_head() -> None:
    head = (
        b'<html><head><link rel="alternate canonical" href="/shoes/red?colour=all">'
        b'<meta name="Robots" content="NOINDEX, follow"></head><body><a href=x>x</a></body></html>'
    )
    sig = signals(head, {}, PAGE)
    assert sig.canonical == "https://shop.example/shoes/red?colour=all"
    assert sig.noindex is True
    assert sig.form is False


def test_noindex_comes_from_the_header_too_and_none_means_noindex() -> None:
    assert signals(b"<p>x", {"x-robots-tag": "googlebot: noindex"}, PAGE).noindex is True
    assert signals(b"<p>x", {"x-robots-tag": "noarchive, none"}, PAGE).noindex is True
    assert signals(b"<p>x", {"x-robots-tag": "noarchive"}, PAGE).noindex is False
    assert signals(b'<meta name="googlebot" content="none">', {}, PAGE).noindex is True
    assert signals(b'<meta name="description" content="noindex">', {}, PAGE).noindex is False
    # Only the head counts: a meta robots in the body is not the page's directive.
    assert signals(b"<head></head><body><meta name=robots content=noindex>", {}, PAGE).noindex is False


def test_an_unusable_canonical_is_ignored() -> None:
    assert signals(b'<link rel=canonical href="http://[bad">', {}, PAGE).canonical == ""
    assert signals(b'<link rel=canonical href="mailto:a@b.c">', {}, PAGE).canonical == ""
    assert signals(b"<link rel=canonical>", {}, PAGE).canonical == ""


def test_a_form_page_is_one_whose_main_content_is_post_forms() -> None:
    review = (
        b"<main><h1>Review</h1><form method=post><label>Your review</label><textarea></textarea>"
        b"</form></main>"
    )
    search = b"<main><h1>Search</h1><form method=get><input name=q></form></main>"
    product = (
        b"<main><h1>Red shoe</h1><p>Soft leather, hand made in Porto, a sole that lasts.</p>"
        b"<form method=POST><button>Add</button></form></main>"
    )
    outside = (
        b"<body><main><p>Plenty of words about a product here</p></main>"
        b"<form method=post>a b c d e f g h</form>"
    )
    fields_only = b"<body><form method='post'><input name=email></form></body>"
    assert signals(review, {}, PAGE).form is True
    assert signals(fields_only, {}, PAGE).form is True
    assert signals(search, {}, PAGE).form is False
    assert signals(product, {}, PAGE).form is False
    assert signals(outside, {}, PAGE).form is False


@given(
    st.binary(max_size=3000), st.dictionaries(st.sampled_from(["x-robots-tag", "content-type"]), st.text())
)
def test_any_bytes_and_headers_give_signals_and_never_an_exception(
    body: bytes, headers: dict[str, str]
) -> None:
    sig = signals(body, headers, PAGE)
    assert sig.canonical == "" or sig.canonical.startswith(("http://", "https://"))


@given(st.text(max_size=200))
def test_any_canonical_href_is_a_url_or_nothing(href: str) -> None:
    body = b'<head><link rel=canonical href="' + href.replace('"', "").encode() + b'"></head>'
    sig = signals(body, {}, PAGE)
    assert sig.canonical == "" or sig.canonical.startswith(("http://", "https://"))


@given(st.text(max_size=100))
def test_any_retry_after_is_a_wait_within_the_cap_or_none(value: str) -> None:
    wait = _retry_after(value, 60.0)
    assert wait is None or 0.0 <= wait <= 60.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert _retry_after("5", 60.0) == 5.0
    assert _retry_after("600", 60.0) == 60.0
    assert _retry_after("-3", 60.0) == 0.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 60.0) == 0.0
    assert _retry_after("soon", 60.0) is None
    assert _retry_after("nan", 60.0) is None
    assert _retry_after("", 60.0) is None


@given(st.text(max_size=200))
def test_any_location_header_is_a_url_to_follow_or_a_reason_not_to(location: str) -> None:
    target = _redirect_target("https://shop.example/a/b", location)
    if isinstance(target, _Refused):
        assert target.why
    else:
        assert target.startswith(("http://", "https://"))


def test_a_location_to_another_scheme_or_nowhere_is_refused_in_plain_words() -> None:
    ftp = _redirect_target("https://shop.example/a", "ftp://files.example/x.pdf")
    assert isinstance(ftp, _Refused) and "ftp: address" in ftp.why
    empty = _redirect_target("https://shop.example/a", "  ")
    assert isinstance(empty, _Refused) and "empty" in empty.why
    assert _redirect_target("https://shop.example/a/b", "../c") == "https://shop.example/c"

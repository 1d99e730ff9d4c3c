"""URLs as a browser reads them: parsing, resolution, normalisation and the fast join."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.crawl.urls import MalformedURL, absolute, join, normalise, resolve

PAGE = "http://shop.test/dir/page.html"
ORIGIN, DIRECTORY = "http://shop.test", "http://shop.test/dir/"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("//////", "host name is empty"),
        ("http://[bad", "bracket"),
        ("https://example]org/", "bracket"),
        ("http://shop.test:99999/", "port '99999'"),
        ("http://sh op.test/", "characters a host name cannot have"),
        ("http://1.2.3.4.5/", "not a valid host name"),
    ],
)
def test_it_rejects_what_a_browser_cannot_open_and_says_why(raw: str, why: str) -> None:
    with pytest.raises(MalformedURL, match=why.replace("[", r"\[").replace("(", r"\(")):
        absolute(PAGE, raw)


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("http:", PAGE),
        ("http:/", "http://shop.test/"),
        ("http://☃.example/", "http://xn--n3h.example/"),
        ("HTTP://Shop.TEST:80/a/../b/%2e%2E/c", "http://shop.test/c"),
        ("https://shop.test:443/x?", "https://shop.test/x"),
        ('/a b/é?q="x"', "http://shop.test/a%20b/%C3%A9?q=%22x%22"),
        ("\\other\\path", "http://shop.test/other/path"),
        ("/cart;jsessionid=ABC?PHPSESSID=1&item=2&sid=3", "http://shop.test/cart?item=2"),
        ("?page=2", "http://shop.test/dir/page.html?page=2"),
    ],
)
def test_it_resolves_links_as_a_browser_does(raw: str, url: str) -> None:
    assert absolute(PAGE, raw)[0] == url


def test_a_base_href_decides_where_relative_links_point() -> None:
    base = resolve(PAGE, "/shop/v2/")
    assert absolute(base, "item.html")[0] == "http://shop.test/shop/v2/item.html"


def test_the_query_of_a_legacy_page_is_encoded_in_the_page_encoding() -> None:
    assert absolute(PAGE, "/search?q=ü#ü", "windows-1252") == ("http://shop.test/search?q=%FC", "%C3%BC")
    assert absolute(PAGE, "/search?q=ü", "iso-8859-1")[0] == "http://shop.test/search?q=%FC"
    # The path is always UTF-8; only the query takes the page's encoding.
    assert absolute(PAGE, "/menü?q=ü", "windows-1252")[0] == "http://shop.test/men%C3%BC?q=%FC"
    assert absolute(PAGE, "/search?q=ü", "utf-8")[0] == "http://shop.test/search?q=%C3%BC"
    # A character the encoding lacks is written as a character reference, never as a fragment.
    url, frag = absolute(PAGE, "/s?q=✓", "windows-1252")
    assert url == "http://shop.test/s?q=&%2310003;" and frag == ""


def test_fragments_are_kept_apart_from_the_url() -> None:
    assert normalise("http://shop.test/a#b c") == ("http://shop.test/a", "b%20c")
    assert absolute(PAGE, "#:~:text=hello") == (PAGE, ":~:text=hello")


def test_the_fast_join_leaves_unusual_links_to_the_parser() -> None:
    assert join(ORIGIN, DIRECTORY, "/products/mug?c=blue#reviews") == (
        "http://shop.test/products/mug?c=blue",
        "reviews",
    )
    for raw in ("../up", "//cdn.test/x", "http:", "a b", "/%2e%2e/x", "/é", "?q", "a\\b", "/x?sid=1"):
        assert join(ORIGIN, DIRECTORY, raw) is None, raw


HOSTILE = st.one_of(
    st.text(),
    st.sampled_from(
        ["//////", "http://[bad", "https://example]org/", "http:", "http:/", "\x00", "\ud800", "%", "#"]
    ),
    st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                [
                    "http://",
                    "/",
                    "?",
                    "#",
                    "[",
                    "]",
                    ":",
                    "@",
                    "%2e",
                    "..",
                    ".",
                    "\\",
                    "é",
                    "☃",
                    " ",
                    ";",
                    "jsessionid=",
                    "sid=",
                    "a",
                    "80",
                    "xn--",
                    "\t",
                    "'",
                    "&#",
                    "\ud800",
                ]
            ),
            max_size=12,
        ),
    ),
)
ENCODINGS = st.sampled_from(["utf-8", "windows-1252", "iso-8859-1", "shift_jis", "no-such-codec"])


@settings(max_examples=400, deadline=None)
@given(raw=HOSTILE, encoding=ENCODINGS)
def test_any_string_either_resolves_or_is_malformed_and_nothing_else(raw: str, encoding: str) -> None:
    try:
        url, _ = absolute(PAGE, raw, encoding)
    except MalformedURL as e:
        assert str(e)
        return
    assert "#" not in url
    if url.startswith(("http://", "https://")):
        # The canonical spelling is a fixed point: normalising it again changes nothing.
        assert normalise(url) == (url, "")


@settings(max_examples=400, deadline=None)
@given(raw=HOSTILE)
def test_normalise_raises_only_malformed_url(raw: str) -> None:
    with contextlib.suppress(MalformedURL):
        normalise(raw)


@settings(max_examples=600, deadline=None)
@given(raw=HOSTILE)
def test_the_fast_join_agrees_with_the_parser_whenever_it_answers(raw: str) -> None:
    fast = join(ORIGIN, DIRECTORY, raw)
    if fast is not None:
        assert fast == absolute(PAGE, raw)

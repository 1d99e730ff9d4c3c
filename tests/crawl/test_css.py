"""CSS as a browser reads it: every url(), image-set() and @import, nothing in comments or strings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.crawl.css import css_links, decode


def test_it_finds_urls_imports_and_fonts_and_skips_comments_strings_and_inner_references() -> None:
    css = """
        @import url(a.css); @import "b.css" screen; @import url("c.css") supports(display: grid);
        /* .x { background: url(comment.png) } */
        @font-face { src: url( "f.woff2" ) format("woff2"), url(g.woff) }
        @media (min-width: 40em) { .m { background: url(m.png) } }
        .x { background: url(i\\ j.png), image-set("k.png" 1x, url(l.png) 2x); content: "url(no.png)" }
        .f { filter: url(#blur) } .e { background: url() }
    """
    assert css_links(css) == [
        ("a.css", "css @import"),
        ("b.css", "css @import"),
        ("c.css", "css @import"),
        ("f.woff2", "css @font-face url()"),
        ("g.woff", "css @font-face url()"),
        ("m.png", "css url()"),
        ("i j.png", "css url()"),
        ("k.png", "css url()"),
        ("l.png", "css url()"),
    ]


def test_the_element_name_says_where_the_css_was() -> None:
    assert css_links("background: url(x.png)", "[style]") == [("x.png", "[style] url()")]
    assert css_links("@import 'y.css'", "style") == [("y.css", "style @import")]


def test_broken_css_is_read_as_far_as_a_browser_reads_it() -> None:
    assert css_links(".a { background: url(ok.png) } .b { background: url(bad url) } .c {") == [
        ("ok.png", "css url()")
    ]
    assert css_links("{" * 10_000 + "url(deep.png)") == []


def test_a_stylesheet_is_decoded_by_bom_then_header_then_charset_rule() -> None:
    assert "café" in decode(b'@charset "iso-8859-1"; .a { background: url(caf\xe9.png) }')
    assert "café" in decode(".a{background:url(café.png)}".encode(), "text/css; charset=utf-8")
    assert decode(b"\xef\xbb\xbf.a{}", "text/css; charset=no-such-charset") == ".a{}"


CSS_BITS = st.sampled_from(
    ["url(", ")", "(", '"', "'", "\\", "@import", "@font-face", "{", "}", ";", "/*", "*/", "image-set(",
     ",", " ", "\n", "x.png", "#", "data:", "\x00", "\ud800", "é"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(), st.lists(CSS_BITS, max_size=40).map("".join)),
    st.sampled_from(["css", "style", "[style]"]),
)
def test_any_text_gives_a_list_of_links_and_never_raises(text: str, where: str) -> None:
    links = css_links(text, where)
    assert all(url and element.startswith(where + " ") for url, element in links)


@settings(max_examples=200, deadline=None)
@given(st.binary(), st.sampled_from(["", "text/css", "text/css; charset=shift_jis", "text/css; charset=x"]))
def test_any_bytes_decode(body: bytes, content_type: str) -> None:
    assert isinstance(decode(body, content_type), str)


@settings(max_examples=200, deadline=None)
@given(noise=st.lists(CSS_BITS, max_size=20).map("".join))
def test_a_planted_url_after_any_complete_rule_is_found(noise: str) -> None:
    # Whatever came before, this ends it: two newlines end a string (one may be escaped), "*/" a
    # comment, the brackets every open function and block, ";" an at-rule.
    css = f'{noise}\n\n*/\n\n{"])}" * 40};\n.planted {{ background: url("/planted.png") }}'
    assert ("/planted.png", "css url()") in css_links(css)

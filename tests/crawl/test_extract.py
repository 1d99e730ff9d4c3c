"""Link extraction from one page: every element a browser loads, and nothing else."""

from __future__ import annotations

import html as htmllib

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.crawl.extract import decode_page, extract, srcset_urls


def test_srcset_is_split_by_the_html_algorithm_not_on_every_comma() -> None:
    assert srcset_urls(
        "data:image/png;base64,iVBO,RKgg 1x, /a.png 2x,/b.png, /c.png (x, y) 3x, ,,/d.png,,"
    ) == [
        "data:image/png;base64,iVBO,RKgg",
        "/a.png",
        "/b.png",
        "/c.png",
        "/d.png",
    ]
    assert srcset_urls(" \t\n") == [] and srcset_urls("/x.png 100w") == ["/x.png"]


def test_a_legacy_page_reports_the_encoding_its_links_are_encoded_in() -> None:
    assert decode_page(b"<p>\xfc</p>", "text/html; charset=ISO-8859-1") == ("<p>ü</p>", "cp1252")
    assert decode_page(b'<meta charset="shift_jis"><p>x</p>', "")[1] == "shift_jis"
    assert decode_page(b"<p>\xff\xfe</p>", "")[1] == "cp1252"  # undeclared and not UTF-8
    assert decode_page(b"<p>x</p>", "text/html; charset=no-such")[1] == "utf-8"
    assert (
        extract("<a href='/q?x=ü'>".encode("cp1252"), "text/html; charset=windows-1252").encoding == "cp1252"
    )


def test_a_base_href_a_browser_cannot_parse_is_ignored() -> None:
    assert extract(b'<base href="/v2/"><a href="x">').base == "/v2/"
    assert extract(b'<base href="http://[bad/"><a href="x">').base is None
    assert extract(b'<base href="  "><base href="/second/">').base is None  # only the first counts


def test_urls_are_read_as_a_browser_reads_attributes() -> None:
    page = extract(
        b'<a href=" /a\n/b\t ">x</a><a href="/q?a=1&amp;b=2&#x3D;3">y</a><a href>z</a><img src="">'
    )
    assert page.links == [("/a/b", "a[href]"), ("/q?a=1&b=2=3", "a[href]")]


def test_only_image_inputs_and_share_images_are_read() -> None:
    page = extract(
        b'<input type="IMAGE" src="/pay.png"><input src="/no.png"><meta property="og:image:secure_url" '
        b'content="/s.png"><meta name="description" content="/not-a-link">'
        b'<meta property="og:url" content="/u">'
    )
    assert page.links == [("/pay.png", "input[type=image]"), ("/s.png", "meta[property=og:image]")]


def test_ids_and_anchor_names_are_the_fragment_targets() -> None:
    page = extract(b'<h2 id="a">x</h2><a name="b">y</a><div name="c">z</div>')
    assert page.ids == frozenset({"a", "b"})


ATTR_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["http://[bad", "//////", "https://example]org/", "http:", "javascript:alert(1)", "data:,a,b",
         "\x00", "&#x3D;", "&", '"', "'", "<", ">", "\ud800", "☃", "x" * 5000, "url(", "@import"]
    ),
)  # fmt: skip
ATTRS = st.sampled_from(
    ["href", "src", "srcset", "style", "poster", "data", "content", "rel", "type", "id", "name"]
)
TAGS = st.sampled_from(
    [
        "a",
        "img",
        "source",
        "link",
        "meta",
        "base",
        "style",
        "video",
        "object",
        "embed",
        "input",
        "iframe",
        "div",
    ]
)


@st.composite
def hostile_element(draw: st.DrawFn) -> str:
    tag = draw(TAGS)
    attrs = draw(st.lists(st.tuples(ATTRS, ATTR_VALUES), max_size=4))
    rendered = "".join(f' {k}="{htmllib.escape(v.encode("utf-8", "replace").decode())}"' for k, v in attrs)
    inner = draw(st.sampled_from(["", "x", "url(/u.png)", "@import '", "</"]))
    return f"<{tag}{rendered}>{inner}</{tag}>"


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=2000),
    st.sampled_from(["", "text/html", "text/html; charset=utf-16", "x; charset=\x00"]),
)
def test_any_bytes_are_a_page(body: bytes, content_type: str) -> None:
    page = extract(body, content_type)
    assert all(raw and element for raw, element in page.links)


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_element(), max_size=12), st.integers(min_value=0, max_value=12))
def test_planted_links_are_found_among_hostile_elements(elements: list[str], at: int) -> None:
    planted = [
        '<a href="/planted-page">p</a>',
        '<img src="/a.png" srcset="data:image/png;base64,AA,BB 1x, /planted-2x.png 2x">',
        '<div style="background: url(/planted-bg.png)"></div>',
        '<link rel="stylesheet" href="/planted.css">',
    ]
    # Each planted element in its own <p>, after a closed <div>: whatever a hostile tag left
    # open (a <style>, an attribute), a browser is back in the body by then.
    body = "".join(elements[:at]) + "</style></object></video>" + "".join(planted) + "".join(elements[at:])
    links = extract(f"<!doctype html><html><body>{body}</body></html>".encode(errors="replace")).links
    for want in [
        ("/planted-page", "a[href]"),
        ("/planted-2x.png", "img[srcset]"),
        ("/planted-bg.png", "[style] url()"),
        ("/planted.css", "link[rel=stylesheet]"),
    ]:
        assert want in links
    assert not any(raw.startswith("AA") or raw == "BB" for raw, _ in links)

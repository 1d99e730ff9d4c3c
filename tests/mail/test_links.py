"""Links in emails, read as a mail client reads them, and judged without ever raising."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.checks.inbox import CheckedLink, link_findings
from auditor.config import SiteConfig
from auditor.crawl.linkcheck import check_urls
from auditor.mail.message import Link, parse_message, url_problem
from auditor.results import Severity
from tests.crawl.site import Site, page, serve

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def raw_mail(
    body: bytes, content_type: str = "text/html; charset=utf-8", cte: str = "quoted-printable"
) -> bytes:
    head = f"From: shop@x.test\nTo: ann@x.test\nSubject: s\nMIME-Version: 1.0\nContent-Type: {content_type}\n"
    return (head + (f"Content-Transfer-Encoding: {cte}\n" if cte else "") + "\n").encode() + body


def urls(raw: bytes) -> list[str]:
    return [link.url for link in parse_message(raw, T0, "1").links()]


def test_html_entities_in_hrefs_are_decoded() -> None:
    body = b'<a href=3D"https://shop.test/reset?token&#x3D;abc&amp;u&#61;1">reset</a>'
    assert urls(raw_mail(body)) == ["https://shop.test/reset?token=abc&u=1"]


def test_quoted_printable_soft_line_breaks_are_joined_with_crlf_and_bare_lf() -> None:
    body = b'<a href=3D"https://shop.test/downloads/very-long-to=\nken-abc">x</a>'
    assert urls(raw_mail(body)) == ["https://shop.test/downloads/very-long-token-abc"]
    crlf = raw_mail(body).replace(b"\n", b"\r\n")
    assert urls(crlf) == ["https://shop.test/downloads/very-long-token-abc"]


def test_a_text_part_escaped_by_an_html_template_reads_as_its_reader_sees_the_link() -> None:
    text = b"Reset: https://shop.test/reset?token&#x3D;abc&amp;u=3D1.\n"
    assert urls(raw_mail(text, "text/plain; charset=utf-8")) == ["https://shop.test/reset?token=abc&u=1"]


def test_format_flowed_soft_line_breaks_are_joined() -> None:
    text = b"Your download: https://shop.test/downloads/ \nabc-def \n-123\nThanks\n"
    raw = raw_mail(text, "text/plain; charset=utf-8; format=flowed; delsp=yes", cte="")
    assert urls(raw) == ["https://shop.test/downloads/abc-def-123"]
    raw = raw_mail(b"See https://shop.test/a \nand more\n", "text/plain; format=flowed", cte="")
    assert parse_message(raw, T0, "1").text == "See https://shop.test/a and more\n"


def test_tabs_and_newlines_inside_an_href_are_dropped_as_a_browser_drops_them() -> None:
    body = b'<a href=3D"https://shop.test/a\n\t/b">x</a>'
    assert urls(raw_mail(body)) == ["https://shop.test/a/b"]


def test_a_link_says_why_no_mail_client_can_open_it() -> None:
    assert url_problem("https://shop.test/ok") is None
    assert url_problem("http://☃.example/") is None
    assert "bracket" in (url_problem("http://[bad") or "")
    assert "host name is empty" in (url_problem("//////") or "")
    assert "relative" in (url_problem("/account") or "")
    assert Link("https://example]org/", "x", "html", "link").problem


async def test_a_malformed_link_is_a_warning_beside_the_dead_links_of_the_same_email() -> None:
    site = Site(pages={"/ok": page()})
    with serve(site.app) as base:
        html = (
            f'<a href="http://[bad">bad</a><a href="https://example]org/">bracket</a>'
            f'<a href="{base}/gone">gone</a><a href="{base}/ok">ok</a><a href="/account">relative</a>'
        )
        msg = parse_message(raw_mail(html.encode(), cte="8bit"), T0, "1")
        links = msg.links()
        verdicts = await check_urls([lk.url for lk in links], site=SiteConfig(base_url=base))
    findings = link_findings([CheckedLink("order", lk, verdicts[lk.url]) for lk in links])
    got = {(f.kind, f.url, f.severity) for f in findings}
    assert got == {
        ("malformed_link", "http://[bad", Severity.WARNING),
        ("malformed_link", "https://example]org/", Severity.WARNING),
        ("email_broken_link", f"{base}/gone", Severity.ERROR),
        ("email_broken_link", "/account", Severity.ERROR),
    }
    bad = next(f for f in findings if f.url == "http://[bad")
    assert "order email" in bad.message and "bracket" in bad.message


HOSTILE_URLS = st.sampled_from(
    ["http://[bad", "//////", "https://example]org/", "http:", "javascript:x", "data:,a,b", "\x00", "☃",
     "http://☃.example/", "&#x3D;", "&amp;", "=\n", "=3D", '"', "<", "\ud800", "http://a:99999/", "%"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(HOSTILE_URLS, st.text(max_size=30)), max_size=8),
    st.sampled_from(["text/html; charset=utf-8", "text/plain; format=flowed", "text/plain; charset=x-bad"]),
    st.sampled_from(["quoted-printable", "8bit", "base64", ""]),
)
def test_any_email_gives_its_links_and_planted_one_is_found(bits: list[str], ctype: str, cte: str) -> None:
    hostile = "".join(f'<a href="{b}">{b}</a> {b}\n' for b in bits)
    planted = "https://shop.test/planted"
    body = f'{hostile}\n<a href="{planted}">p</a>\n{planted}\n'.encode("utf-8", "replace")
    raw = raw_mail(body, ctype, cte)
    links = parse_message(raw, T0, "1").links()
    for link in links:
        assert link.problem is None or isinstance(link.problem, str)
    if cte in ("8bit", ""):
        assert planted in [link.url for link in links]

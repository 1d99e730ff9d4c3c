"""parse_message reads real-world emails into what the checks need: who, when, subject, text, HTML, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from auditor.mail import Link, html_to_text, parse_message
from tests.mail.mails import email

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

HTML = """<!doctype html><html><head><title>Order</title><style>p { color: red }</style></head><body>
<p>Hi Ann,</p>
<p>Thanks for order <b>#A1B2C3</b>.</p>
<table><tr><td>The Complete Course</td><td>497.00 USD</td></tr></table>
<p><a href="https://shop.test/download/tok1">Download
   your course</a> &middot; <a href="/faq#returns">Returns</a>
   <a href="mailto:help@shop.test">Email us</a> <a href="tel:+15550100">Call</a>
   <a href="https://shop.test/download/tok1">Download again</a> <a href="#">top</a></p>
<img src="https://shop.test/logo.png" alt="Harbor &amp; Pine"><img src="cid:logo@shop">
<script>var x = "https://tracker.test/never";</script>
</body></html>"""


def test_a_multipart_email_gives_its_text_and_html_parts() -> None:
    raw = email("Ann <Ann@Example.TEST>", html_body=HTML, Cc="boss@example.test").as_bytes()
    m = parse_message(raw, T0, "7")
    assert m.uid == "7"
    assert m.text == "Hi Ann,\nthanks for your order.\n"
    assert m.html.startswith("<!doctype html>")
    assert m.recipients == ("ann@example.test", "boss@example.test")
    assert m.sender == "orders@harbor-and-pine.test"
    assert m.message_id.startswith("<") and m.message_id.endswith("@harbor-and-pine.test>")
    assert m.sent_at is not None and m.sent_at.tzinfo == UTC
    assert m.received_at == T0
    assert m.raw == raw
    assert m.header("FROM") == "Harbor & Pine <orders@harbor-and-pine.test>"


def test_an_html_only_email_gets_its_text_from_the_html() -> None:
    raw = (
        b"From: orders@shop.test\r\nTo: ann@example.test\r\nSubject: Your order\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + HTML.encode()
    )
    m = parse_message(raw, T0, "1")
    assert m.html.startswith("<!doctype html>")
    assert m.text.splitlines()[:4] == [
        "Hi Ann,",
        "Thanks for order #A1B2C3.",
        "The Complete Course\t497.00 USD",
        "Download your course · Returns Email us Call Download again top",
    ]
    assert "color: red" not in m.text and "tracker" not in m.text and "Order" not in m.text


def test_encoded_subjects_and_names_are_decoded() -> None:
    raw = (
        b"From: =?utf-8?q?Caf=C3=A9_M=C3=BCller?= <cafe@shop.test>\r\n"
        b"To: =?iso-8859-1?q?J=F6rg?= <JOERG@example.test>\r\n"
        b"Subject: =?utf-8?b?WW91ciBvcmRlciDinJMgI0ExQjJDMw==?=\r\n"
        b"Date: Mon, 23 Nov 2026 15:00:00 +0100\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Gr=FC=DFe, J=F6rg\r\n"
    )
    m = parse_message(raw, T0, "1")
    assert m.subject == "Your order ✓ #A1B2C3"
    assert m.header("from") == "Café Müller <cafe@shop.test>"
    assert m.recipients == ("joerg@example.test",)
    assert m.text == "Grüße, Jörg\n"
    assert m.sent_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_delivery_headers_and_envelope_recipients_count_as_recipients() -> None:
    raw = email(
        "list@example.test", Delivered_To="a+1@example.test", X_Original_To="<a@example.test>"
    ).as_bytes()
    m = parse_message(raw, T0, "1", envelope_recipients=["Envelope@Example.test"])
    assert m.recipients == (
        "envelope@example.test",
        "list@example.test",
        "a+1@example.test",
        "a@example.test",
    )
    assert m.is_for("A+1@example.test") and not m.is_for("a+10@example.test") and not m.is_for("example.test")


def test_a_broken_email_still_parses() -> None:
    raw = (
        b"From: nobody\r\nTo: undisclosed-recipients:;\r\nSubject: =?x-unknown?q?abc?=\r\nDate: yesterday\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nbody \xff\xfe\r\n"
    )
    m = parse_message(raw, datetime(2026, 11, 23, 15, 0, tzinfo=timezone(timedelta(hours=1))), "1")
    assert m.sender == "" and m.recipients == () and m.sent_at is None
    assert m.text.startswith("body ")
    assert m.received_at == T0 and m.received_at.tzinfo == UTC


def test_links_and_images_come_from_the_html_and_the_text_each_once() -> None:
    text = "Download: https://shop.test/download/tok1\nFAQ (https://shop.test/faq#returns).\nNew: https://shop.test/new."
    m = parse_message(email("ann@example.test", text_body=text, html_body=HTML).as_bytes(), T0, "1")
    assert m.links() == [
        Link("https://shop.test/download/tok1", "Download your course", "html", "link"),
        Link("/faq#returns", "Returns", "html", "link"),
        Link("https://shop.test/logo.png", "Harbor & Pine", "html", "image"),
        Link("https://shop.test/faq#returns", "", "text", "link"),
        Link("https://shop.test/new", "", "text", "link"),
    ]


def test_a_url_keeps_its_own_parentheses() -> None:
    m = parse_message(
        email("a@x.test", text_body="See (https://en.test/wiki/Tote_(bag)).").as_bytes(), T0, "1"
    )
    assert [link.url for link in m.links()] == ["https://en.test/wiki/Tote_(bag)"]


def test_html_to_text_keeps_lines_and_cells_apart_and_drops_what_is_not_shown() -> None:
    html = (
        "<p>a <i>b</i>\n c</p><div>d<br>e</div>"
        "<table><tr><th>Total</th><td> 5 </td></tr></table><pre>x\ny</pre>"
    )
    assert html_to_text(html) == "a b c\nd\ne\nTotal\t5\nx\ny"
    assert html_to_text("<style>p{}</style><script>1</script><!-- hidden -->") == ""
    assert html_to_text("") == ""

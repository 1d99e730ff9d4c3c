"""find_merge_tags reports unrendered placeholders a customer would see, and nothing a careful email says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.mail import MergeTag, find_merge_tags, parse_message
from tests.mail.mails import email

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def tags_in(text: str, html: str | None = None, subject: str = "Your order") -> list[tuple[str, str]]:
    message = parse_message(
        email("a@x.test", subject=subject, text_body=text, html_body=html).as_bytes(), T0, "1"
    )
    return [(t.token, t.part) for t in find_merge_tags(message)]


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("Hi {{ first_name }},", "{{ first_name }}"),
        ("Hi {{customer.first_name|title}},", "{{customer.first_name|title}}"),
        ("{% if vip %}Thanks, VIP!", "{% if vip %}"),
        ("Hello *|FNAME|*,", "*|FNAME|*"),
        ("Dear %%FirstName%%,", "%%FirstName%%"),
        ("Hi [FIRSTNAME], welcome", "[FIRSTNAME]"),
        ("Order [ORDER_NUMBER] is on its way", "[ORDER_NUMBER]"),
        ("Hi ${customer.name}!", "${customer.name}"),
        ("Hi None,", "None"),
        ("Hello undefined!", "undefined"),
        ("Dear null", "null"),
        ("Your order #undefined is confirmed", "undefined"),
        ("Order number: null", "null"),
        ("Total: $NaN", "NaN"),
        ("Total 497.00 NaN", "NaN"),
        ("null, thanks for your order", "null"),
        ("Your password:\nNone\nKeep it safe.", "None"),
    ],
)
def test_it_finds_an_unrendered_tag_in_the_text(text: str, token: str) -> None:
    assert tags_in(text) == [(token, "text")]


@pytest.mark.parametrize(
    "text",
    [
        "None of our products contain nuts.",
        "Note: None of these items ship to P.O. boxes.",
        "Total: $24.00 (incl. 20% VAT) [1]",
        "[1] Prices include tax. [2] See our FAQ.",
        "Reply [OK] to confirm",
        "Nullable, nonexistent, Nan and none are just words; so is undefined behaviour in C.",
        "A null-hypothesis, a None-such day, a NaN-like value",
        "Use code {SAVE10} at checkout, 50%% off is a typo but not a tag",
        "Track it: https://track.test/?id={{order_id}}&name=null&x=%%X%%",
        "Email null@example.test with questions",
    ],
)
def test_it_does_not_report_ordinary_writing(text: str) -> None:
    assert tags_in(text) == []


def test_a_tag_in_the_html_is_found_in_the_visible_text_not_in_attributes() -> None:
    html = (
        "<p>Hi <b>{{ first_name }}</b>,</p>"
        '<a href="https://x.test/{{ token }}" title="null">Your download</a>'
        '<img src="https://x.test/a.png" alt="*|FNAME|*">'
        "<table><tr><td>Discount</td><td>None</td></tr><tr><td>None of it</td></tr></table>"
    )
    assert tags_in("Hi Ann,", html) == [("{{ first_name }}", "html"), ("None", "html")]


def test_each_part_is_searched_and_a_repeated_tag_is_reported_once_per_part() -> None:
    found = tags_in(
        "Hi {{ first_name }}, {{ first_name }}!",
        "<p>Hi {{ first_name }}</p>",
        subject="Your order #undefined",
    )
    assert found == [("undefined", "subject"), ("{{ first_name }}", "text"), ("{{ first_name }}", "html")]


def test_an_html_only_email_is_not_reported_twice() -> None:
    raw = (
        b"From: o@shop.test\r\nTo: a@x.test\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Hi {{ first_name }},</p>"
    )
    assert find_merge_tags(parse_message(raw, T0, "1")) == [
        MergeTag("{{ first_name }}", "html", "Hi {{ first_name }},")
    ]


def test_the_context_shows_the_words_around_the_tag_on_one_line() -> None:
    text = "Your order is confirmed and paid.\nHi {{ first_name }},\nthanks for shopping with Harbor & Pine."
    message = parse_message(email("a@x.test", text_body=text).as_bytes(), T0, "1")
    [tag] = find_merge_tags(message)
    assert tag.context == "…der is confirmed and paid. Hi {{ first_name }}, thanks for shopping with Har…"


def test_a_placeholder_the_check_is_told_to_ignore_is_not_reported_and_the_others_are() -> None:
    from auditor.checks.inbox import merge_tag_findings

    message = parse_message(
        email(
            "a@x.test", subject="[SALE] Your order", text_body="Hi [FIRSTNAME], [SALE] ends soon."
        ).as_bytes(),
        T0,
        "1",
    )
    every = merge_tag_findings("confirmation", [message], "http://127.0.0.1:9")
    assert sorted(f.evidence["token"] for f in every) == ["[FIRSTNAME]", "[SALE]"]
    kept = merge_tag_findings("confirmation", [message], "http://127.0.0.1:9", [r"\[SALE\]"])
    assert [f.evidence["token"] for f in kept] == ["[FIRSTNAME]"]
    # A pattern must match the whole placeholder: "SALE" alone does not hide "[SALE]".
    assert len(merge_tag_findings("confirmation", [message], "http://127.0.0.1:9", ["SALE"])) == 2


def test_a_bad_ignore_merge_tags_regex_is_a_config_problem() -> None:
    from pydantic import ValidationError

    from auditor.checks.email import EmailOptions

    with pytest.raises(ValidationError, match=r"bad regex '\[SALE'"):
        EmailOptions.model_validate({"ignore_merge_tags": ["[SALE"]})

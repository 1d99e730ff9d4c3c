"""Amounts and field paths as hostile ledgers write them: exact, or a clear LedgerFormatError."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.config import SiteConfig
from auditor.ledger import HttpLedgerOptions, LedgerFormatError, money, parse_amount
from auditor.ledger.base import parse_json
from auditor.ledger.paths import MISSING, parse_path

WHERE = "charge 1's `amount`"


@pytest.mark.parametrize(
    ("value", "currency", "unit", "minor"),
    [
        ("17.00", "EUR", None, 1700),
        ("1234.5", "EUR", None, 123450),
        (Decimal("17.0"), "USD", None, 1700),
        (1700, "EUR", "minor", 1700),
        (17, "EUR", "major", 1700),
        ("5000", "JPY", None, 5000),
        (5000, "JPY", None, 5000),
        ("1.500", "KWD", None, 1500),
        (1500, "KWD", "minor", 1500),
        ("1", "kwd", "major", 1000),
        (1700, "EUR", None, None),  # a bare integer: minor or major, the page's total will tell
    ],
)
def test_it_reads_amounts_exactly_in_the_currencys_minor_units(
    value: Any, currency: str, unit: Any, minor: int | None
) -> None:
    assert parse_amount(value, currency=currency, unit=unit, where=WHERE).minor == minor


@pytest.mark.parametrize(
    ("value", "currency", "unit", "says"),
    [
        ("17.005", "EUR", None, "more decimals than the 2 of EUR"),
        ("5000.5", "JPY", None, "more decimals than the 0 of JPY"),
        ("17.00", "EUR", "minor", 'amount_unit = "major"'),
        ("17,00 EUR", "EUR", None, "not a number"),
        ({"value": "17.00"}, "EUR", None, "point `amount_field` at the number inside it"),
        (True, "EUR", None, "not an amount"),
        (None, "EUR", None, "set `amount_field`"),
        ("NaN", "EUR", None, "not a number"),
        (Decimal("1E+400"), "EUR", None, "not an amount of money"),
        (10**30, "EUR", "minor", "not an amount of money"),
    ],
)
def test_an_amount_that_does_not_fit_shows_the_value_and_the_option(
    value: Any, currency: str, unit: Any, says: str
) -> None:
    with pytest.raises(LedgerFormatError) as e:
        parse_amount(value, currency=currency, unit=unit, where=WHERE)
    assert says in str(e.value) and WHERE in str(e.value)


def test_money_is_shown_with_the_currencys_decimals() -> None:
    assert [money(49700, "USD"), money(5000, "JPY"), money(1500, "KWD")] == [
        "497.00 USD",
        "5000 JPY",
        "1.500 KWD",
    ]


def test_field_paths_reach_into_nested_records_and_lists() -> None:
    data = {"data": {"charges": [{"amount": {"value": 1}}, {"amount": {"value": 2}}, 7]}}
    assert list(parse_path("data.charges[*].amount.value").values(data)) == [1, 2]
    assert parse_path("data.charges[1].amount.value").get(data) == 2
    assert parse_path("data.charges[9].amount").get(data) is MISSING
    assert parse_path("data.nothing.here").get(data) is MISSING


@pytest.mark.parametrize("bad", ["a..b", "a[", "a[x]", "[0]", "a.[*]"])
def test_a_malformed_field_path_is_a_config_error(bad: str) -> None:
    with pytest.raises(ValueError, match="bad field path"):
        parse_path(bad)


def test_fields_written_from_the_root_with_a_star_name_the_records() -> None:
    opts = HttpLedgerOptions(amount_field="data.charges[*].amount.value", id_field="data.charges[*].id")
    items, fields = opts.paths()
    assert items.text == "data.charges[*]" and fields["amount_field"].text == "amount.value"
    with pytest.raises(ValueError, match="different lists of charges"):
        HttpLedgerOptions(amount_field="data.charges[*].amount", id_field="other[*].id")
    with pytest.raises(ValueError, match="items_field is 'charges'"):
        HttpLedgerOptions(items_field="charges", amount_field="data.charges[*].amount")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
amount_texts = st.from_regex(r"-?[0-9]{0,25}(\.[0-9]{0,25})?", fullmatch=True) | st.text(max_size=30)


@settings(max_examples=300, deadline=None)
@given(value=json_values | amount_texts, currency=st.sampled_from(["EUR", "JPY", "KWD", "", "XYZ", "clf"]))
def test_any_amount_is_read_exactly_or_refused_with_a_clear_error(value: Any, currency: str) -> None:
    for unit in (None, "minor", "major"):
        try:
            amount = parse_amount(value, currency=currency, unit=unit, where=WHERE)  # type: ignore[arg-type]
        except LedgerFormatError as e:
            assert WHERE in str(e)
            continue
        if amount.minor is not None:
            assert isinstance(amount.minor, int)


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "charges": st.lists(
                    st.dictionaries(
                        st.sampled_from(["id", "amount", "currency", "status", "x"]), json_values
                    ),
                    max_size=4,
                )
            }
        ),
    )
)
def test_any_ledger_answer_gives_charges_or_a_clear_error(data: Any) -> None:
    ledger = HttpLedgerOptions().build(SiteConfig(base_url="http://127.0.0.1:9"), "http://127.0.0.1:9")
    try:
        for item in ledger._items(data, "http://127.0.0.1:9/_test/ledger"):
            with contextlib.suppress(LedgerFormatError):
                ledger.charge(item, "a@example.com")
    except LedgerFormatError:
        pass


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=200) | st.sampled_from([b"NaN", b"[" * 100_000, b"1" * 5000, b'{"a": Infinity}'])
)
def test_any_response_body_is_json_or_a_clear_error(body: bytes) -> None:
    response = httpx.Response(200, content=body, request=httpx.Request("GET", "http://x/"))
    try:
        data = parse_json(response, what="the HTTP ledger", url="http://x/")
    except LedgerFormatError:
        return
    except Exception as e:  # the other LedgerError: "did not answer JSON"
        assert "did not answer JSON" in str(e)
        return
    json.dumps(data, default=str)

"""`test_cards`: a shop whose gateway has other test cards than Stripe's. The `card` fixture gives
the configured numbers, a bad number is a config error saying what was expected, and the evidence
of a scenario that typed them holds none of them (the scrubber knows them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from auditor import config
from auditor.results import Status
from auditor.runner import RunOptions, run_audit
from auditor.scenarios import ScenarioOptions
from auditor.scenarios.options import GatewayCards
from auditor.store import Store

from .conftest import TinySite
from .test_evidence_secrets import encodings, everything_written, hits

# Adyen's sandbox cards: a Mastercard that approves, a Visa that is refused.
APPROVE, DECLINE = "5555 3412 4444 1115", "4000 0200 0000 0000"

TYPES_THE_CARDS = """
from auditor import scenario


@scenario("types-the-cards", description="types both test cards, then stops with the trace kept")
async def types_the_cards(page, site, card, outputs, step):
    step("Type the cards")
    await page.goto(site.url("/pay"))
    await page.fill("#card", card.number)
    await page.fill("#other", card.declined)
    await page.fill("#expiry", card.expiry)
    outputs["typed"] = [card.last4(card.number), card.last4(card.declined), card.expiry, card.cvc]
    raise AssertionError("stopped on purpose, so the trace and the page are kept")
"""

FORM = (
    "<!doctype html><title>Pay</title><form><input id=card name=card><input id=other name=other>"
    "<input id=expiry name=expiry></form>"
)


def test_the_card_fixture_gives_stripe_s_test_cards_unless_told_otherwise() -> None:
    assert ScenarioOptions(scenario="s").test_cards.card().number == "4242 4242 4242 4242"
    card = ScenarioOptions(
        scenario="s", test_cards={"approve": APPROVE, "decline": DECLINE, "expiry": "03/2031", "cvc": "7373"}
    ).test_cards.card()
    assert (card.number, card.declined, card.expiry, card.cvc) == (APPROVE, DECLINE, "03/2031", "7373")
    assert set(card.numbers) == {APPROVE, DECLINE, APPROVE.replace(" ", ""), DECLINE.replace(" ", "")}


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("approve", "4242", "12 to 19 digits"),
        ("decline", "4000-0000-0000-000x", "12 to 19 digits"),
        ("expiry", "13/30", "MM/YY"),
        ("cvc", "12", "3 or 4 digits"),
    ],
)
def test_a_bad_test_card_is_a_config_error_naming_the_key_and_what_is_expected(
    key: str, value: str, said: str
) -> None:
    with pytest.raises(config.ConfigError) as e:
        config.from_dict(
            {
                "sites": {"shop": {"base_url": "http://127.0.0.1:9"}},
                "checks": {"pay": {"kind": "scenario", "scenario": "s", "test_cards": {key: value}}},
                "audits": {"a": {"checks": ["pay"]}},
            },
            environ={},
        )
    assert f"test_cards.{key}" in str(e.value) and said in str(e.value)


@given(st.text(max_size=40))
def test_any_text_as_a_card_number_is_a_card_or_a_validation_error(text: str) -> None:
    try:
        cards = GatewayCards(approve=text)
    except ValidationError:
        return
    digits = "".join(ch for ch in cards.approve if ch.isdigit())
    assert 12 <= len(digits) <= 19 and digits in cards.card().numbers


@pytest.mark.asyncio(loop_scope="module")
async def test_the_configured_cards_are_typed_and_scrubbed_from_every_piece_of_evidence(
    tmp_path: Path, tiny_site: TinySite
) -> None:
    tiny_site.routes["/pay"] = (200, "text/html", FORM)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "types_the_cards.py").write_text(TYPES_THE_CARDS, encoding="utf-8")
    db = tmp_path / "auditor.db"
    cards = {"approve": APPROVE, "decline": DECLINE}
    settings = config.from_dict(
        {
            "database_url": f"sqlite:///{db}",
            "report_dir": str(tmp_path / "reports"),
            "sites": {"shop": {"base_url": tiny_site.base_url}},
            "checks": {
                "cards": {
                    "kind": "scenario",
                    "scenario": "types-the-cards",
                    "paths": [str(tmp_path / "scenarios")],
                    "test_cards": cards,
                }
            },
            "audits": {"a": {"checks": ["cards"]}},
        },
        environ={},
    )
    store = Store.open(settings.database_url())
    try:
        run = await run_audit(settings, "a", RunOptions(recorder=store))
    finally:
        store.close()
    (check,) = run.checks
    assert check.derived_status() == Status.FAIL
    assert check.outputs["typed"] == ["1115", "0000", "12/30", "123"]
    assert {a.name for a in check.artifacts} >= {"trace.zip", "page.html", "screenshot.png"}
    secrets = {
        name: {*encodings(number), number.replace(" ", ""), number.replace(" ", "-")}
        for name, number in cards.items()
    }
    found = {where: hits(data, secrets) for where, data in everything_written(run, db)}
    assert any("trace" in where for where in found)
    assert {where: h for where, h in found.items() if h} == {}

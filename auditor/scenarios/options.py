"""The options of the `scenario` check kind (also what `run_scenario` takes)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from auditor.config import Regexes
from auditor.scenarios.fixtures import APPROVES, DECLINES, Card

_VIEWPORT = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_CARD_NUMBER = re.compile(r"^\d(?:[ -]?\d){11,18}$")
_EXPIRY = re.compile(r"^(0[1-9]|1[0-2])/(\d{2}|\d{4})$")
_CVC = re.compile(r"^\d{3,4}$")


class GatewayCards(BaseModel):
    """The payment gateway's test cards, as the `card` fixture gives them to a scenario.

    Stripe's (and the demo shop's) by default; another gateway's sandbox has its own. The numbers
    are secrets of the run: traces and saved pages are scrubbed of them, as typed and as digits.
    """

    model_config = ConfigDict(extra="forbid")

    approve: str = Field(APPROVES, description="a test card number the gateway approves (`card.number`)")
    decline: str = Field(DECLINES, description="a test card number the gateway declines (`card.declined`)")
    expiry: str = Field("12/30", description="the expiry date typed with them, MM/YY or MM/YYYY")
    cvc: str = Field("123", description="the CVC typed with them, 3 or 4 digits")

    @field_validator("approve", "decline")
    @classmethod
    def _card_number(cls, value: str) -> str:
        # 12 to 19 digits, as card numbers are: the scrubber finds runs of 12 digits or more.
        if not _CARD_NUMBER.match(value.strip()):
            raise ValueError(
                "must be a card number of 12 to 19 digits (spaces or dashes between them allowed), "
                f"got {value!r}"
            )
        return value.strip()

    @field_validator("expiry")
    @classmethod
    def _expiry(cls, value: str) -> str:
        if not _EXPIRY.match(value.strip()):
            raise ValueError(f"must look like MM/YY or MM/YYYY, e.g. 12/30, got {value!r}")
        return value.strip()

    @field_validator("cvc")
    @classmethod
    def _cvc(cls, value: str) -> str:
        if not _CVC.match(value.strip()):
            raise ValueError(f"must be 3 or 4 digits, e.g. 123, got {value!r}")
        return value.strip()

    def card(self) -> Card:
        """The `card` fixture these options give."""
        return Card(number=self.approve, declined=self.decline, expiry=self.expiry, cvc=self.cvc)


class ScenarioOptions(BaseModel):
    """Which scenario to run, where to find it, and how long and how strictly to run it."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=1, description="the scenario's name (`auditor scenario list`)")
    paths: list[str] = Field(
        ["scenarios"], description='folders to load scenarios from, relative to the config; "bundled" too'
    )
    step_timeout_s: float = Field(30.0, gt=0, le=3600, description="one step's time limit")
    time_limit_s: float = Field(300.0, gt=0, le=7200, description="the whole scenario's time limit")
    # Keep the Playwright trace "on-failure", "always" or "off".
    trace: Literal["on-failure", "always", "off"] = "on-failure"
    # An uncaught JavaScript error on the page fails the scenario (else a console_error warning).
    fail_on_page_error: bool = True
    ignore_console: Regexes = Field([], description="regexes: console errors not to report")
    ignore_requests: Regexes = Field([], description="regexes: failed request URLs not to report")
    # The browser window, WIDTHxHEIGHT ("390x844" for a phone).
    viewport: str = "1280x800"
    test_cards: GatewayCards = Field(
        default_factory=GatewayCards, description="the gateway's test cards the `card` fixture gives"
    )

    @field_validator("viewport")
    @classmethod
    def _viewport(cls, value: str) -> str:
        if not _VIEWPORT.match(value.strip()):
            raise ValueError(f"must look like WIDTHxHEIGHT, e.g. 1280x800, got {value!r}")
        return value.strip()

    def viewport_size(self) -> dict[str, int]:
        """The viewport as Playwright takes it."""
        m = _VIEWPORT.match(self.viewport)
        assert m is not None  # validated
        return {"width": int(m.group(1)), "height": int(m.group(2))}

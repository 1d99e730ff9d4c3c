"""The options of the `scenario` check kind (also what `run_scenario` takes)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from auditor.config import Regexes

_VIEWPORT = re.compile(r"^(\d{2,5})x(\d{2,5})$")


class ScenarioOptions(BaseModel):
    """Which scenario to run, where to find it, and how long and how strictly to run it."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=1, description="the scenario's name (`auditor scenario list`)")
    paths: list[str] = Field(
        ["scenarios"], description='folders to load scenarios from, relative to the config; "bundled" too'
    )
    step_timeout_s: float = Field(30.0, gt=0, le=3600, description="one step's time limit")
    time_limit_s: float = Field(300.0, gt=0, le=7200, description="the whole scenario's time limit")
    trace: Literal["on-failure", "always", "off"] = "on-failure"
    fail_on_page_error: bool = True
    ignore_console: Regexes = Field([], description="regexes: console errors not to report")
    ignore_requests: Regexes = Field([], description="regexes: failed request URLs not to report")
    viewport: str = "1280x800"

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

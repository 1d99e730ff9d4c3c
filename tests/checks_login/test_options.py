"""The login and delivery options are validated with the config, each problem at its key path."""

from __future__ import annotations

from typing import Any

import pytest

from auditor import config
from auditor.errors import ConfigError


def load(**login: Any) -> config.Settings:
    return config.from_dict(
        {
            "sites": {"shop": {"base_url": "http://127.0.0.1:9", "allow_orders": True}},
            "checks": {
                "checkout": {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"]},
                "login": {"kind": "login", "needs": ["checkout"], **login},
                "delivery": {
                    "kind": "delivery",
                    "needs": ["checkout", "login"],
                    "link_pattern": "/download/",
                },
            },
            "audits": {"a": {"checks": ["delivery"]}},
        },
        environ={},
    )


def test_the_defaults_use_the_bundled_demo_login() -> None:
    assert load().checks["login"].options.scenario == "demo-login"  # type: ignore[attr-defined]


def test_an_unknown_login_scenario_is_a_config_problem() -> None:
    with pytest.raises(ConfigError, match="no-such-login"):
        load(scenario="no-such-login")


def test_a_link_pattern_needs_credentials_from_the_email() -> None:
    with pytest.raises(ConfigError, match='set credentials = "email"'):
        load(link_pattern="/magic/")


def test_a_bad_regex_is_named() -> None:
    with pytest.raises(ConfigError, match="bad regex"):
        load(exclude=["("])

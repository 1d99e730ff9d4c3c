from __future__ import annotations

import pytest

from auditor.demo import Faults, parse_faults
from auditor.demo.faults import ENV_VAR, KNOWN


def test_it_parses_names_and_values() -> None:
    faults = parse_faults(["dead-link", "double-submit=yes "], environ={})
    assert faults.names() == ["dead-link", "double-submit"]
    assert faults.active["double-submit"] == "yes"
    assert "dead-image" not in faults


def test_no_flags_is_a_healthy_shop() -> None:
    assert parse_faults([], environ={}) == Faults()


def test_it_reads_the_env_var_as_a_comma_separated_list() -> None:
    faults = parse_faults(["js-error"], environ={ENV_VAR: "dead-image, stale-sitemap,,"})
    assert faults.names() == ["dead-image", "js-error", "stale-sitemap"]


def test_an_unknown_name_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(ValueError) as info:
        parse_faults(["dead-lnk"], environ={ENV_VAR: "nope"})
    message = str(info.value)
    assert "dead-lnk" in message and "nope" in message
    assert all(name in message for name in KNOWN)


def test_slow_email_takes_a_number_of_seconds() -> None:
    assert parse_faults(["slow-email=2.5"], environ={}).seconds("slow-email") == 2.5
    with pytest.raises(ValueError, match=r"slow-email=soon\. Give a number of seconds"):
        parse_faults(["slow-email=soon"], environ={})
    with pytest.raises(ValueError, match="slow-email=-1"):
        parse_faults(["slow-email=-1"], environ={})


def test_every_fault_of_this_round_is_known_with_a_description() -> None:
    names = ["no-email", "slow-email", "duplicate-email", "merge-tag", "email-dead-link", "dead-download"]
    names += ["login-broken", "no-autoresponse"]
    assert all(KNOWN.get(name) for name in names)

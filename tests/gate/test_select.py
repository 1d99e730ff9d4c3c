"""Which audit a gate runs, and that it checks internal links only unless told otherwise."""

from __future__ import annotations

import pytest

from auditor import config
from auditor.errors import NothingMatched
from auditor.gate.command import internal_only, pick_audit


def settings(*audits: str) -> config.Settings:
    return config.from_dict(
        {
            "sites": {"shop": {"base_url": "http://127.0.0.1:9"}},
            "checks": {"links": {"kind": "crawl", "external": True}},
            "audits": {a: {"checks": ["links"]} for a in audits},
        },
        environ={},
    )


def test_it_runs_the_audit_named_gate_else_the_only_one_else_the_one_asked_for() -> None:
    assert pick_audit(settings("nightly", "gate"), None) == "gate"
    assert pick_audit(settings("nightly"), None) == "nightly"
    assert pick_audit(settings("nightly", "gate"), "nightly") == "nightly"


def test_it_matches_nothing_when_it_cannot_tell_which_audit() -> None:
    with pytest.raises(NothingMatched, match=r"pass --audit NAME \(known: hourly, nightly\)"):
        pick_audit(settings("nightly", "hourly"), None)
    with pytest.raises(NothingMatched, match=r"no audit named 'nope' \(known: gate\)"):
        pick_audit(settings("gate"), "nope")


def test_it_turns_external_links_off_and_leaves_the_config_alone() -> None:
    s = settings("gate")
    gated = internal_only(s)
    assert gated.checks["links"].options.external is False  # type: ignore[attr-defined]
    assert s.checks["links"].options.external is True  # type: ignore[attr-defined]

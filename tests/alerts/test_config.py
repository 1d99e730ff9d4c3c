"""The `[alerts]` section: defaults, validation messages by key path, overrides and windows."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from auditor.alerts.config import AlertsConfig, MaintenanceWindow, Policy
from auditor.errors import Problem


def alerts(toml: str) -> AlertsConfig:
    return AlertsConfig.model_validate(tomllib.loads(toml).get("alerts", {}))


def errors(toml: str) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        alerts(toml)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in info.value.errors()]


def test_the_defaults_alert_at_once_remind_daily_and_resolve_after_one_pass() -> None:
    config = AlertsConfig()
    assert config.policy("links") == Policy(after_failures=1, remind_every_h=24, resolve_after_passes=1)
    assert config.policy("links", external=True).after_failures == 2
    assert config.channels == {} and config.maintenance == []


def test_a_full_section_reads_from_toml() -> None:
    config = alerts(
        """
        [alerts]
        after_failures = 2
        remind_every_h = 12
        resolve_after_passes = 3
        maintenance = [
          { start = 2026-12-24T00:00:00Z, end = 2026-12-27T00:00:00Z },
          { days = ["sat", "sun"], from = "22:00", to = "23:30", timezone = "Europe/Berlin" },
        ]
        [alerts.channels.ops]
        url = "mailto://user:pass@smtp.example.com?to=ops@example.com"
        min_severity = "warning"
        [alerts.channels.slack]
        url = "slack://TokenA/TokenB/TokenC/#shop"
        checks = ["checkout"]
        audits = ["nightly"]
        attach_screenshot = false
        [alerts.checks.links]
        after_failures = 1
        mute = true
        """
    )
    assert config.policy("links", external=True) == Policy(1, 12, 3, mute=True)
    assert config.policy("checkout", external=True) == Policy(2, 12, 3)
    assert config.channels["slack"].wants("nightly", "checkout", "error")
    assert not config.channels["slack"].wants("nightly", "links", "error")
    assert not config.channels["slack"].wants("gate", "checkout", "error")
    assert not config.channels["slack"].wants("nightly", "checkout", "warning")
    assert config.channels["ops"].wants("any", "any", "warning")
    assert config.in_maintenance(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))


def test_every_problem_is_reported_by_its_key_path() -> None:
    found = errors(
        """
        [alerts]
        after_failures = 0
        remind_every_h = -1
        maintenance = [{ days = ["someday"], from = "25:00", to = "23:00" }, { start = 2026-12-24T00:00:00Z }]
        [alerts.channels.ops]
        url = "ops@example.com"
        min_severity = "info"
        [alerts.checks.links]
        after_failure = 2
        """
    )
    paths = [p for p, _ in found]
    assert paths == [
        "channels.ops.url",
        "channels.ops.min_severity",
        "after_failures",
        "remind_every_h",
        "maintenance.0.days.0",
        "maintenance.0.from",
        "maintenance.1",
        "checks.links.after_failure",
    ]
    messages = dict(found)
    assert "Apprise URL" in messages["channels.ops.url"]
    assert "HH:MM" in messages["maintenance.0.from"]
    assert "needs both `start` and `end`" in messages["maintenance.1"]


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({}, "give either"),
        ({"start": "2026-12-24T00:00", "end": "2026-12-23T00:00"}, "`end` must be after `start`"),
        ({"days": ["mon"], "from": "22:00"}, "needs `days`, `from` and `to`"),
        ({"days": ["mon"], "from": "22:00", "to": "22:00"}, "equal"),
        ({"start": "2026-12-24T00:00", "end": "2026-12-25T00:00", "days": ["mon"]}, "give either"),
        ({"days": ["mon"], "from": "22:00", "to": "23:00", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_a_maintenance_window_must_have_one_clear_shape(window: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MaintenanceWindow.model_validate(window)


def test_a_weekly_window_past_midnight_covers_the_next_morning() -> None:
    window = MaintenanceWindow.model_validate({"days": ["sat"], "from": "23:00", "to": "01:30"})
    saturday_night = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    sunday_early = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    sunday_late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    saturday_evening = datetime(2026, 11, 28, 22, 59, tzinfo=UTC)
    assert [window.contains(t) for t in (saturday_night, sunday_early, sunday_late, saturday_evening)] == [
        True,
        True,
        False,
        False,
    ]


def test_a_one_off_window_without_an_offset_is_read_in_its_timezone() -> None:
    window = MaintenanceWindow.model_validate(
        {"start": "2026-11-23T10:00", "end": "2026-11-23T11:00", "timezone": "America/New_York"}
    )
    assert window.contains(datetime(2026, 11, 23, 15, 30, tzinfo=UTC))
    assert not window.contains(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))


def test_references_to_unknown_checks_and_audits_are_problems() -> None:
    config = alerts(
        """
        [alerts.channels.ops]
        url = "json://127.0.0.1:9/x"
        checks = ["links", "nope"]
        audits = ["nightly", "weekly"]
        [alerts.checks.ghost]
        mute = true
        """
    )
    assert config.problems(checks=["links"], audits=["nightly"]) == [
        Problem("alerts.checks.ghost", "no check named 'ghost' (known: links)"),
        Problem("alerts.channels.ops.checks", "no check named 'nope' (known: links)"),
        Problem("alerts.channels.ops.audits", "no audit named 'weekly' (known: nightly)"),
    ]


def test_a_channel_url_apprise_cannot_parse_is_a_problem_at_validate_without_repeating_it() -> None:
    found = errors(
        """
        [alerts.channels.team]
        url = "slack://s3cr3tTokenA"
        [alerts.channels.typo]
        url = "slak://TokenA/TokenB/TokenC"
        [alerts.channels.empty]
        url = "json://"
        """
    )
    by_path = dict(found)
    assert by_path["channels.team.url"].startswith("Value error, Apprise cannot use this slack:// URL")
    assert "s3cr3tTokenA" not in by_path["channels.team.url"]
    assert by_path["channels.typo.url"].startswith("Value error, Apprise knows no service 'slak://'")
    assert by_path["channels.empty.url"].startswith("Value error, Apprise cannot use this json:// URL")


def test_channel_urls_apprise_can_use_pass() -> None:
    config = alerts(
        """
        [alerts.channels.hook]
        url = "json://127.0.0.1:9/never-listening"
        [alerts.channels.mail]
        url = "mailto://user:pass@smtp.example.com?to=ops@example.com"
        """
    )
    assert sorted(config.channels) == ["hook", "mail"]

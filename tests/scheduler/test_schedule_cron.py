"""Cron expressions mean what crontab(5) says, and the [scheduler] section is checked at load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from auditor.scheduler.config import SchedulerConfig
from auditor.scheduler.cron import cron_trigger, latest_fire

MONDAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def next_fire(expr: str, after: datetime = MONDAY, tz: str = "UTC") -> datetime:
    fire: datetime | None = cron_trigger(expr, tz).get_next_fire_time(None, after)
    assert fire is not None
    return fire


@pytest.mark.parametrize("expr", ["0 3 * * 0", "0 3 * * 7", "0 3 * * sun", "0 3 * * SUN"])
def test_weekday_0_and_7_are_sunday_as_in_crontab(expr: str) -> None:
    assert next_fire(expr).strftime("%a %H:%M") == "Sun 03:00"


def test_a_weekday_range_runs_monday_to_friday() -> None:
    fires = [next_fire("0 3 * * 1-5", MONDAY + timedelta(days=d)).strftime("%a") for d in range(7)]
    assert sorted(set(fires)) == ["Fri", "Mon", "Thu", "Tue", "Wed"]
    assert next_fire("0 3 * * 1-5", datetime(2026, 11, 27, 4, 0, tzinfo=UTC)).strftime("%a") == "Mon"


def test_a_range_through_7_wraps_to_sunday() -> None:
    fires = {next_fire("0 3 * * 5-7", MONDAY + timedelta(days=d)).strftime("%a") for d in range(7)}
    assert fires == {"Fri", "Sat", "Sun"}


def test_the_schedule_is_read_in_the_configured_time_zone() -> None:
    assert next_fire("0 3 * * *", tz="Europe/Berlin") == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 3 * *", "a cron expression has 5 fields"),
        ("0 3 * * 8", "weekday '8' is out of range 0-7"),
        ("0 3 * * 5-1", "runs backwards"),
        ("0 3 * * */0", "step must be at least 1"),
        ("0 3 * * funday", "not a weekday number or name"),
        ("61 3 * * *", "bad minute field .61.: .*higher than the maximum"),
    ],
)
def test_a_bad_expression_says_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cron_trigger(expr, "UTC")


def test_latest_fire_is_the_last_fire_in_the_window() -> None:
    trigger = cron_trigger("*/15 * * * *", "UTC")
    assert latest_fire(trigger, since=MONDAY - timedelta(hours=1), until=MONDAY + timedelta(minutes=20)) == (
        MONDAY + timedelta(minutes=15)
    )
    assert (
        latest_fire(trigger, since=MONDAY + timedelta(minutes=1), until=MONDAY + timedelta(minutes=14))
        is None
    )


def test_the_scheduler_section_has_defaults() -> None:
    c = SchedulerConfig()
    assert (c.timezone, c.catch_up_grace_s, c.stop_timeout_s, c.heartbeat_url) == ("UTC", 21600, 300, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"heartbeat_url": "hc-ping.com/abc"}, "must be an http\\(s\\) URL"),
        ({"catch_up_grace_s": -1}, "greater than or equal to 0"),
        ({"grace": 60}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_scheduler_section_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SchedulerConfig.model_validate(data)

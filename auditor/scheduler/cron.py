"""Cron expressions as crontab(5) means them, turned into APScheduler 3 triggers.

APScheduler 3's `CronTrigger.from_crontab` numbers weekdays from Monday (0 = Monday), while
crontab numbers them from Sunday (0 and 7 = Sunday): `0 3 * * 0` would run on Mondays. The
day-of-week field is therefore rewritten as weekday names, which both agree on, before APScheduler
sees it. One difference remains and is documented: when both day-of-month and day-of-week are
restricted, APScheduler runs on days matching both, crontab on days matching either.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

# crontab's numbering: index = crontab weekday number.
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIELD_NAMES = {
    "minute": "minute",
    "hour": "hour",
    "day": "day-of-month",
    "month": "month",
    "day_of_week": "weekday",
}


def cron_trigger(expr: str, timezone: tzinfo | str) -> CronTrigger:
    """A trigger firing when the 5-field crontab expression `expr` does, read in `timezone`.

    Raises ValueError saying what is wrong with the expression.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), got {expr!r}")
    values = dict(zip(FIELD_NAMES, [*fields[:4], weekday_field(fields[4])], strict=True))
    for (name, value), written in zip(values.items(), fields, strict=True):
        try:
            CronTrigger(**{name: value}, timezone=timezone)
        except ValueError as e:
            raise ValueError(f"bad {FIELD_NAMES[name]} field {written!r}: {e}") from None
    return CronTrigger(**values, timezone=timezone)


def weekday_field(field: str) -> str:
    """crontab's day-of-week field as APScheduler weekday names: `1-5` -> `mon,tue,wed,thu,fri`."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        days |= _weekdays(part.strip().lower(), field)
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def _weekdays(part: str, field: str) -> set[int]:
    span, _, step_text = part.partition("/")
    step = _number(step_text, field) if step_text else 1
    if step < 1:
        raise ValueError(f"the weekday step must be at least 1 in {field!r}")
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        a, _, b = span.partition("-")
        first, last = _weekday(a, field), _weekday(b, field)
    else:
        first = _weekday(span, field)
        last = 7 if step_text else first  # `1/2` means from Monday to the end of the week
    if first > last:
        raise ValueError(f"weekday range {span!r} runs backwards in {field!r} (write e.g. 5-7 or fri-sun)")
    return {d % 7 for d in range(first, last + 1, step)}


def _weekday(text: str, field: str) -> int:
    if text in WEEKDAYS:
        return WEEKDAYS.index(text)
    n = _number(text, field)
    if not 0 <= n <= 7:
        raise ValueError(f"weekday {text!r} is out of range 0-7 (0 and 7 are Sunday) in {field!r}")
    return n


def _number(text: str, field: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a weekday number or name (sun..sat) in {field!r}")
    return int(text)


def latest_fire(trigger: CronTrigger, *, since: datetime, until: datetime) -> datetime | None:
    """The last time `trigger` fired in [since, until], or None when it did not fire then.

    APScheduler 3 can only look forward, so this steps from `since`; a 5-field cron fires at most
    once a minute, so a grace period of hours is a few hundred steps.
    """
    latest = None
    t = trigger.get_next_fire_time(None, since)
    while t is not None and t <= until:
        latest = t
        t = trigger.get_next_fire_time(None, t + timedelta(seconds=1))
    return latest

"""The `[alerts]` section of `auditor.toml`: channels, thresholds, reminders and maintenance windows.

Imports nothing of auditor's but `auditor.errors` at load time (`auditor.config` only inside a
validator), so `auditor.config` can make it a section of the settings. `${ENV}` references in
channel URLs are expanded by `auditor.config` before this model sees them (and redacted from logs
as secrets). Channel URLs are parsed by Apprise when validated; nothing is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from auditor.errors import Problem

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# A link to another host fails for reasons that pass by themselves (a partner's deploy, a rate
# limit): wait for a second failing run before paging anyone, unless the check says otherwise.
EXTERNAL_AFTER_FAILURES = 2

_SEVERITY_RANK = {"warning": 0, "error": 1}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
        ) from None
    return name


class ChannelConfig(_Model):
    """One place alerts go: an Apprise URL, and which incidents it wants to hear about."""

    url: str = Field(description="an Apprise URL: mailto://, slack://, json://, msteams://, ...")
    # "error": only incidents of error findings; "warning": warnings too.
    min_severity: Literal["error", "warning"] = "error"
    checks: list[str] = Field(default_factory=list, description="only these checks (empty: all)")
    audits: list[str] = Field(default_factory=list, description="only these audits (empty: all)")
    # Attach the failing scenario's screenshot where the service takes attachments.
    attach_screenshot: bool = True

    @field_validator("url")
    @classmethod
    def _apprise_url(cls, v: str) -> str:
        v = v.strip()
        if "://" not in v:
            raise ValueError(
                "must be an Apprise URL such as 'mailto://user:pass@smtp.example.com?to=ops@example.com' "
                "or 'slack://TokenA/TokenB/TokenC/#alerts'"
            )
        problem = apprise_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    def wants(self, audit: str, check: str, severity: str) -> bool:
        """Whether an incident of `check` in `audit` at `severity` goes to this channel."""
        if self.audits and audit not in self.audits:
            return False
        if self.checks and check not in self.checks:
            return False
        return _SEVERITY_RANK.get(severity, 1) >= _SEVERITY_RANK[self.min_severity]


def apprise_problem(url: str) -> str | None:
    """Why Apprise cannot use `url`, found by parsing it (nothing is sent), or None when it can.

    The URL holds the service's credentials, so the message never repeats it nor any part of it.
    """
    import logging

    import apprise

    reasons: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            reasons.append(record.getMessage())

    logger = logging.getLogger("apprise")
    handler, propagate = _Collect(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception as e:  # a plugin that raises on a hostile URL is still a bad URL, not our crash
        plugin, reasons = None, [*reasons, type(e).__name__]
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    if plugin:
        return None
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _schemes():
        return (
            f"Apprise knows no service {scheme + '://'!r}: see https://github.com/caronc/apprise/wiki "
            "for each service's URL (mailto://, slack://, json://, ntfys://, msteams://, ...)"
        )
    pieces = {p for p in re.split(r"[/:@?&=#,]+", url) if len(p) >= 3}
    why = [r for r in reasons if not any(p in r for p in pieces)]
    detail = f" ({'; '.join(why)})" if why else ""
    return (
        f"Apprise cannot use this {scheme}:// URL{detail}: check it against the service's page "
        "on https://github.com/caronc/apprise/wiki"
    )


def _schemes() -> set[str]:
    from apprise import Apprise

    details = Apprise().details()
    found: set[str] = set()
    for service in details.get("schemas", []):
        for key in ("protocols", "secure_protocols"):
            found.update(str(p).lower() for p in service.get(key) or ())
    return found


class CheckAlertPolicy(_Model):
    """`[alerts.checks.<check name>]`: this check's own thresholds (unset: the section's)."""

    # This check's own `after_failures` (also for its links to other hosts).
    after_failures: int | None = Field(None, ge=1)
    # This check's own `remind_every_h`.
    remind_every_h: float | None = Field(None, ge=0)
    # This check's own `resolve_after_passes`.
    resolve_after_passes: int | None = Field(None, ge=1)
    # Keep the check's incidents but send nothing about them.
    mute: bool = False


class MaintenanceWindow(_Model):
    """A time when nothing is sent: once (`start`, `end`) or every week (`days`, `from`, `to`).

    Naive datetimes and the weekly clock times are read in `timezone`. A weekly window whose `to`
    is before its `from` runs past midnight into the next day.
    """

    # A one-off window's start, an ISO datetime (without an offset: read in `timezone`).
    start: datetime | None = None
    # A one-off window's end.
    end: datetime | None = None
    # A weekly window's days: mon tue wed thu fri sat sun.
    days: list[Weekday] = Field(default_factory=list)
    # A weekly window's start time of day, HH:MM.
    from_: str | None = Field(None, alias="from")
    # Its end time of day, HH:MM; before `from`, the window runs past midnight.
    to: str | None = None
    # IANA time zone of the window.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return _zone(v)

    @field_validator("from_", "to")
    @classmethod
    def _clock(cls, v: str | None) -> str | None:
        if v is not None and not _CLOCK.match(v.strip()):
            raise ValueError(f"must be a time of day as HH:MM (24 h), got {v!r}")
        return v.strip() if v is not None else v

    @model_validator(mode="after")
    def _one_shape(self) -> MaintenanceWindow:
        dated = self.start is not None or self.end is not None
        weekly = bool(self.days) or self.from_ is not None or self.to is not None
        if dated == weekly:
            raise ValueError(
                "give either `start` and `end` (a one-off window) or `days`, `from` and `to` (a weekly one)"
            )
        if dated:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both `start` and `end`")
            if self._aware(self.end) <= self._aware(self.start):
                raise ValueError("`end` must be after `start`")
        else:
            if not self.days or self.from_ is None or self.to is None:
                raise ValueError("a weekly window needs `days`, `from` and `to`")
            if self.from_ == self.to:
                raise ValueError("`from` and `to` are equal: the window would be empty")
        return self

    def _aware(self, d: datetime) -> datetime:
        return d if d.tzinfo is not None else d.replace(tzinfo=ZoneInfo(self.timezone))

    def contains(self, now: datetime) -> bool:
        """Whether the aware datetime `now` falls in this window."""
        if self.start is not None and self.end is not None:
            return self._aware(self.start) <= now < self._aware(self.end)
        assert self.from_ is not None and self.to is not None
        local = now.astimezone(ZoneInfo(self.timezone))
        begin, finish, clock = _time(self.from_), _time(self.to), local.time().replace(tzinfo=None)
        today = WEEKDAYS[local.weekday()]
        if begin < finish:
            return today in self.days and begin <= clock < finish
        yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
        return (today in self.days and clock >= begin) or (yesterday in self.days and clock < finish)


def _time(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Policy:
    """The thresholds that apply to one incident, overrides resolved."""

    after_failures: int
    remind_every_h: float
    resolve_after_passes: int
    mute: bool = False


class AlertsConfig(_Model):
    """Who hears about a failure, after how many failing runs, how often again, and when it is fixed."""

    # Where alerts go, by name: each an Apprise URL and the incidents it hears about.
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    after_failures: int = Field(1, ge=1, description="failing runs in a row before an incident is announced")
    remind_every_h: float = Field(24.0, ge=0, description="hours between reminders while open (0: never)")
    resolve_after_passes: int = Field(1, ge=1, description="passing runs in a row before it is resolved")
    # Windows in which nothing is sent (runs still run and are recorded).
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    # Per check, its own thresholds (or mute = true), by check name.
    checks: dict[str, CheckAlertPolicy] = Field(default_factory=dict)
    report_url: str | None = Field(
        None,
        description="where reports are served, with {run_id}: messages link there instead of the file path",
    )

    @field_validator("report_url")
    @classmethod
    def _report_url_names_the_run(cls, v: str | None) -> str | None:
        if v is not None and "{run_id}" not in v:
            raise ValueError(
                "report_url must contain {run_id}, e.g. https://reports.example.com/{run_id}/report.html"
            )
        if v is not None and v.lower().startswith(("http://", "https://")):
            from auditor.config import check_http_url

            check_http_url(v.replace("{run_id}", "run"))
        return v

    def policy(self, check: str, *, external: bool = False) -> Policy:
        """The thresholds for an incident of `check`; `external`: it is a link to another host."""
        own = self.checks.get(check, CheckAlertPolicy())
        after = self.after_failures
        if own.after_failures is not None:
            after = own.after_failures
        elif external:
            after = max(after, EXTERNAL_AFTER_FAILURES)
        return Policy(
            after_failures=after,
            remind_every_h=self.remind_every_h if own.remind_every_h is None else own.remind_every_h,
            resolve_after_passes=(
                self.resolve_after_passes if own.resolve_after_passes is None else own.resolve_after_passes
            ),
            mute=own.mute,
        )

    def in_maintenance(self, now: datetime) -> bool:
        """Whether `now` is inside any maintenance window (then nothing is sent)."""
        now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return any(w.contains(now) for w in self.maintenance)

    def problems(self, checks: Iterable[str], audits: Iterable[str]) -> list[Problem]:
        """References to checks and audits that the config does not define, by key path."""
        known_checks, known_audits = set(checks), set(audits)
        found: list[Problem] = []
        for name in self.checks:
            if name not in known_checks:
                found.append(Problem(f"alerts.checks.{name}", _unknown("check", name, known_checks)))
        for channel_name, channel in self.channels.items():
            for name in channel.checks:
                if name not in known_checks:
                    path = f"alerts.channels.{channel_name}.checks"
                    found.append(Problem(path, _unknown("check", name, known_checks)))
            for name in channel.audits:
                if name not in known_audits:
                    path = f"alerts.channels.{channel_name}.audits"
                    found.append(Problem(path, _unknown("audit", name, known_audits)))
        return found


def _unknown(what: str, name: str, known: set[str]) -> str:
    listed = ", ".join(sorted(known)) or "none are configured"
    return f"no {what} named {name!r} (known: {listed})"

"""The `[scheduler]` section of `auditor.toml`: how `auditor schedule` runs the audits' schedules.

Imports nothing of auditor's, so `auditor.config` can make it a section of the settings.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_GRACE_S = 6 * 3600.0
DEFAULT_STOP_TIMEOUT_S = 300.0
DEFAULT_ENQUEUE_RETRY_S = 900.0


class SchedulerConfig(BaseModel):
    """Time zone of the cron expressions, catch-up after downtime, shutdown limit and heartbeat."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    timezone: str = Field("UTC", description="IANA time zone the audits' cron schedules are read in")
    catch_up_grace_s: float = Field(
        DEFAULT_GRACE_S, ge=0, description="a run missed at most this long ago runs once at start"
    )
    stop_timeout_s: float = Field(
        DEFAULT_STOP_TIMEOUT_S, ge=0, description="on SIGTERM, how long running audits may take to finish"
    )
    enqueue_retry_s: float = Field(
        DEFAULT_ENQUEUE_RETRY_S,
        gt=0,
        description="with a [queue]: how long a slot's run is retried while the broker is down before "
        "the slot is recorded as missed",
    )
    heartbeat_url: str | None = Field(
        None,
        description="pinged at the start and end of each run (a dead man's switch, e.g. healthchecks.io)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
            ) from None
        return v

    @field_validator("heartbeat_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http(s) URL with a host, got {v!r}")
        return v.strip()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

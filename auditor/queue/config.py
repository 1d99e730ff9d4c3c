"""The `[queue]` section of `auditor.toml`: the Celery broker the workers share.

Imports nothing of auditor's, so `auditor.config` makes it a section of the settings.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Longer than the longest audit run: a Redis broker hands an unacknowledged task to another
# worker after this long, so a long crawl must never outlive it.
DEFAULT_VISIBILITY_TIMEOUT_S = 6 * 3600.0
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def expand_env(value: str) -> str:
    """Replace each ${NAME} by the environment variable; a missing one is a clear error."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]

    return _ENV.sub(sub, value)


class QueueConfig(BaseModel):
    """The broker future `auditor worker` processes will share (read, not yet used by any command)."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    broker_url: str = Field(
        ..., description="redis://host:6379/0 or amqp://user:pass@host:5672//; ${ENV} allowed for secrets"
    )
    visibility_timeout_s: float = Field(
        DEFAULT_VISIBILITY_TIMEOUT_S,
        gt=0,
        description="Redis only: an unacknowledged task is redelivered after this long (> longest run)",
    )
    heartbeat_interval_s: float = Field(10.0, gt=0, description="how often a worker records that it is alive")
    queue_name: str = Field(
        "auditor",
        description="the broker queue audits are published to and workers consume (letters, digits, _.:-)",
    )
    stop_timeout_s: float = Field(
        60.0,
        gt=0,
        description="on SIGTERM, how long a worker's running audit may finish before it is interrupted",
    )
    stale_after_s: float | None = Field(
        None,
        gt=0,
        description=(
            "a worker silent this long is lost and its runs are marked interrupted "
            "(default: 3 x heartbeat_interval_s; must exceed heartbeat_interval_s)"
        ),
    )

    @field_validator("broker_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        scheme = urlsplit(_ENV.sub("x", v)).scheme
        if scheme not in {"redis", "rediss", "amqp", "amqps"}:
            allowed = "redis://, rediss://, amqp:// or amqps://"
            raise ValueError(f"broker_url must be {allowed}, not {scheme or v!r}")
        return v

    @model_validator(mode="after")
    def _stale_after_beats(self) -> QueueConfig:
        # A worker that beats every 10 s and is declared lost after 5 s would have its runs reaped
        # while it runs them.
        if self.stale_after_s is not None and self.stale_after_s <= self.heartbeat_interval_s:
            raise ValueError(
                f"stale_after_s ({self.stale_after_s:g}) must be longer than heartbeat_interval_s "
                f"({self.heartbeat_interval_s:g}), or a live worker would be declared lost between "
                "two beats; leave it out for 3 x heartbeat_interval_s"
            )
        return self

    @field_validator("queue_name")
    @classmethod
    def _plain_queue_name(cls, v: str) -> str:
        # Redis keys and RabbitMQ queue names both take these; anything else is a typo more likely
        # than a wish, and a worker and a producer that disagree on it never meet.
        if not _QUEUE_NAME.fullmatch(v):
            raise ValueError(
                f"queue_name {v!r} may hold only letters, digits and _ . : - (1 to 200 of them); "
                'leave it out for "auditor"'
            )
        return v

    def resolved_broker_url(self) -> str:
        return expand_env(self.broker_url)

    def stale_after(self) -> float:
        """Seconds without a heartbeat after which a worker is lost (`stale_after_s`, or 3 beats)."""
        return self.stale_after_s if self.stale_after_s is not None else 3 * self.heartbeat_interval_s

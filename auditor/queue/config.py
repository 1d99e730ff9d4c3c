"""The `[queue]` section of `auditor.toml`: the Celery broker the workers share.

Imports nothing of auditor's, so `auditor.config` makes it a section of the settings.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Longer than the longest audit run: a Redis broker hands an unacknowledged task to another
# worker after this long, so a long crawl must never outlive it.
DEFAULT_VISIBILITY_TIMEOUT_S = 6 * 3600.0
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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

    @field_validator("broker_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        scheme = urlsplit(_ENV.sub("x", v)).scheme
        if scheme not in {"redis", "rediss", "amqp", "amqps"}:
            allowed = "redis://, rediss://, amqp:// or amqps://"
            raise ValueError(f"broker_url must be {allowed}, not {scheme or v!r}")
        return v

    def resolved_broker_url(self) -> str:
        return expand_env(self.broker_url)

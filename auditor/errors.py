"""The exceptions auditor raises on purpose.

    AuditorError                  anything auditor raises on purpose
    ├── ConfigError               the configuration is invalid; carries every problem at once (exit 2)
    ├── UsageError                a command was called wrongly: unknown audit, bad flag value (exit 2)
    ├── NothingMatched            the selection (an audit, a scenario name) matched nothing (exit 4)
    └── InfrastructureError       we could not check at all (exit 3)
        ├── SiteUnreachable       the site's start URL could not be reached
        ├── BrowserNotFound       no Chromium could be found; says what to install
        ├── StoreError            the database could not be opened or migrated
        └── BrokerUnavailable     the queue's broker did not take a run (nothing was queued)

A broken *site* is never an exception: it is a result with findings. An exception escaping a
check is our bug or an infrastructure problem, and the runner records it as status `error`.
"""

from __future__ import annotations

from dataclasses import dataclass


class AuditorError(Exception):
    """Base class for the errors auditor raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a configuration: where (a dotted key path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(AuditorError):
    """The configuration is invalid. `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s){where}:\n{lines}")


class UsageError(AuditorError):
    """A command was called in a way that cannot work."""


class NothingMatched(AuditorError):
    """The selection matched nothing (no such audit, no such scenario)."""


class InfrastructureError(AuditorError):
    """Something we depend on failed, so the site could not be checked."""


class SiteUnreachable(InfrastructureError):
    """The site's start URL could not be reached at all (DNS, refused connection, TLS)."""


class BrowserNotFound(InfrastructureError):
    """No Chromium was found; the message says what to install."""


class StoreError(InfrastructureError):
    """The database could not be opened, migrated or written."""


class RunIdTaken(StoreError):
    """A run id is already recorded (ids are a second plus 16 random bits: a burst of runs started
    in one second can draw the same one; whoever made the id draws again)."""


class BrokerUnavailable(InfrastructureError):
    """The `[queue]` broker could not be reached or refused the task; the run was not queued."""

"""The contract between the runner and a check kind.

A check kind is a subclass of `Check` with a `kind` name and an `Options` pydantic model; it is
registered with `@register` (built-ins exactly like plugins). The runner builds one instance per
configured check and awaits `run(ctx)`. A check never writes to the store, sends alerts or
renders reports: it streams findings through `ctx.emit` and returns a `CheckResult`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from auditor.errors import Problem
from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    from auditor.config import SiteConfig


class NoOptions(BaseModel):
    """For check kinds that take no options."""

    model_config = ConfigDict(extra="forbid")


OptionsT = TypeVar("OptionsT", bound=BaseModel)


@dataclass
class CheckContext:
    """What a running check may use. Built by the runner, one per check per run."""

    run_id: str
    name: str
    site: SiteConfig
    base_url: str
    report_dir: Path
    # Outputs of the checks this one `needs`, by check name.
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Record a finding now, so a killed run keeps it. Emitting the same finding again (same
    # fingerprint) updates it, e.g. with more `sources`.
    emit: Callable[[Finding], None] = lambda f: None
    # Report progress counters (pages, links, broken...); shown on a terminal, logged otherwise.
    progress: Callable[..., None] = lambda **counters: None
    # Per-run shared resources (`await resources.browser()`, ...), opened lazily on first use and
    # closed by the runner when the run ends.
    resources: Any = None
    # The site's name in the config ("site" for command-line runs).
    site_name: str = ""
    # The config file's folder (the current one without a config): relative option paths start here.
    config_dir: Path = field(default_factory=Path.cwd)
    # When the runner will stop this check (time.monotonic()); None: no limit. A check that can
    # stop early with what it has (a crawl) ends itself shortly before, rather than being killed.
    deadline: float | None = None

    def artifact_dir(self) -> Path:
        """This check's own folder inside the run's report folder (created on first use)."""
        d = self.report_dir / self.name
        d.mkdir(parents=True, exist_ok=True)
        return d


class Check(ABC, Generic[OptionsT]):
    """Base class of every check kind."""

    kind: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = NoOptions
    # Whether the check submits a payment; such a check is never re-run.
    places_order: ClassVar[bool] = False

    @classmethod
    def places_order_for(cls, options: BaseModel, config_dir: Path) -> bool:
        """Whether a check with these options may place an order (it is never re-run, nor is what
        needs it). The kind's `places_order` by default; a kind whose options decide overrides it."""
        return cls.places_order

    # Run even when a needed check failed, as long as every need finished (pass, warn or fail) and
    # left outputs: a payment check must look at the ledger precisely when checkout failed.
    tolerates_failed_needs: ClassVar[bool] = False

    def __init__(self, name: str, options: OptionsT) -> None:
        self.name = name
        self.options = options

    @classmethod
    def config_problems(cls, options: BaseModel, config_dir: Path) -> list[Problem]:
        """Problems with validated options that only the kind can see (paths relative to the check)."""
        return []

    @abstractmethod
    async def run(self, ctx: CheckContext) -> CheckResult:
        """Check the site and return the result; a broken site is a result, not an exception."""

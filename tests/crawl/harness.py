"""What a test gets back from one crawl, and the limits every test crawl runs with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.results import Finding

# Small limits so a test that hits a timeout or a retry still takes well under a second or two.
FAST: dict[str, Any] = {"request_timeout_s": 1.0, "retries": 2, "max_retry_after_s": 2.0}
# A crawl that ignores a limit (Retry-After cap, timeout, max duration) fails, never hangs.
CRAWL_TIME_LIMIT_S = 20.0


@dataclass
class Crawl:
    """What one crawl returned and streamed."""

    findings: list[Finding]
    emitted: list[Finding]
    stats: dict[str, Any]
    progress: list[dict[str, Any]] = field(default_factory=list)

    @property
    def found(self) -> set[tuple[str, str]]:
        """The (kind, url) of every final finding."""
        return {(f.kind, f.url) for f in self.findings}

    def one(self, kind: str, url: str) -> Finding:
        """The single final finding of `kind` for `url`."""
        matches = [f for f in self.findings if f.kind == kind and f.url == url]
        assert len(matches) == 1, f"{len(matches)} findings {kind} {url}: {self.found}"
        return matches[0]


# The `crawl` fixture: `await crawl(base, site=..., on_emit=..., **options)`.
CrawlFn = Callable[..., Awaitable[Crawl]]

"""Plain data that checks produce and everything downstream reads: no I/O here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from auditor.masking import mask_text, mask_url


class Status(StrEnum):
    """The outcome of one check.

    `fail` means the site is broken (alertable); `error` means we could not check (never counted
    as a site outage); `skip` means a check it needs did not pass; `warn` is a degraded result
    that does not fail a gate unless asked.
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


class RunStatus(StrEnum):
    """The state of a whole run."""

    # Recorded by a producer, waiting in the broker queue for a worker (auditor.queue); not started.
    QUEUED = "queued"
    RUNNING = "running"
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    INTERRUPTED = "interrupted"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Worst first: a run's status is the worst of its checks'.
_ORDER = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP]


def worst(statuses: list[Status]) -> Status:
    """The most serious status among `statuses` (pass when there are none)."""
    for s in _ORDER:
        if s in statuses:
            return s
    return Status.PASS


def site_relative(url: str, base_url: str) -> str:
    """`url` without scheme and host when it is on the base URL's host, so that the same page on a
    preview deploy and on production has the same fingerprint."""
    try:
        u, b = urlsplit(url), urlsplit(base_url)
    except ValueError:  # a malformed URL from the site (`http://[bad`) is kept as it was written
        return url
    if u.netloc and u.netloc.lower() == b.netloc.lower():
        return urlunsplit(("", "", u.path or "/", u.query, u.fragment))
    return url


@dataclass
class Finding:
    """One problem found on the site. The same problem in two runs has the same `fingerprint`."""

    kind: str
    severity: Severity
    url: str
    message: str
    source: str | None = None
    element: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    # Every page the problem was seen on (a footer link broken on 10,000 pages is one finding).
    sources: list[str] = field(default_factory=list)
    check: str = ""
    # Extra words that tell two findings of the same kind and URL apart (e.g. the fragment name).
    key: str = ""
    fingerprint: str = ""
    # Where the problem is, for its identity, when `url` is only where it was seen: a scenario that
    # fails on /thank-you/<order> fails at the same step every run, on a new order number.
    identity_url: str | None = None

    def finalize(self, check: str, base_url: str, known: Iterable[object] = ()) -> Finding:
        """Set the check name and the fingerprint; called by the runner.

        What changes from run to run is masked as `{token}` in `url` and left out of the
        fingerprint (see `auditor.masking`); the real URL stays in `evidence["url"]`. `known`:
        this run's own values (`RunResult.volatile_values()`). Finalizing twice changes nothing.
        """
        known = list(known)
        self.check = check
        if self.source and self.source not in self.sources:
            self.sources.insert(0, self.source)
        if not self.source and self.sources:
            self.source = self.sources[0]
        masked = mask_url(self.url, known)
        if masked != self.url:
            self.evidence.setdefault("url", self.url)
            self.url = masked
        where = self.url if self.identity_url is None else mask_url(self.identity_url, known)
        raw = "\x1f".join([check, self.kind, site_relative(where, base_url), mask_text(self.key, known)])
        self.fingerprint = hashlib.sha256(raw.encode(errors="surrogatepass")).hexdigest()[:16]
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "kind": self.kind,
            "severity": str(self.severity),
            "url": self.url,
            "source": self.source,
            "sources": list(self.sources),
            "element": self.element,
            "message": self.message,
            "evidence": self.evidence,
            "fingerprint": self.fingerprint,
        }


@dataclass
class Artifact:
    """A file a check left in the run's report folder (screenshot, trace, page HTML...)."""

    name: str
    path: Path
    kind: str = "file"


@dataclass
class CheckResult:
    """What one check returns. The runner fills in name, kind, timing, and the status when the
    check left it unset (then: fail on any error finding, warn on warnings, else pass)."""

    status: Status | None = None
    findings: list[Finding] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, int | float] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    message: str | None = None
    name: str = ""
    kind: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float = 0.0

    def derived_status(self) -> Status:
        if self.status is not None:
            return self.status
        if any(f.severity == Severity.ERROR for f in self.findings):
            return Status.FAIL
        if self.findings:
            return Status.WARN
        return Status.PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": str(self.derived_status()),
            "message": self.message,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_s": round(self.duration_s, 3),
            "stats": self.stats,
            "findings": len(self.findings),
            "artifacts": [{"name": a.name, "path": str(a.path), "kind": a.kind} for a in self.artifacts],
        }


@dataclass
class RunResult:
    """A whole audit run: its checks, their findings and totals."""

    id: str
    audit: str
    site: str
    base_url: str
    trigger: str
    started_at: datetime
    status: RunStatus = RunStatus.RUNNING
    finished_at: datetime | None = None
    checks: list[CheckResult] = field(default_factory=list)
    report_dir: Path | None = None
    # What went wrong inside auditor itself (store, reports, a finding it could not keep): the run
    # then ends as `error`, whatever the site did.
    internal_errors: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    def volatile_values(self) -> list[str]:
        """What is this run's own and differs in the next one: the run id, and the order numbers,
        customer emails and ids in the outputs of its finished checks. Masked in findings."""
        values = {self.id}
        for c in self.checks:
            values.update(_volatile(c.outputs))
        return sorted(values)

    def stats(self) -> dict[str, int | float]:
        totals: dict[str, int | float] = {}
        for c in self.checks:
            for k, v in c.stats.items():
                totals[k] = totals.get(k, 0) + v
        totals["findings"] = len(self.findings)
        totals["errors"] = sum(1 for f in self.findings if f.severity == Severity.ERROR)
        totals["warnings"] = sum(1 for f in self.findings if f.severity == Severity.WARNING)
        return totals

    def to_dict(self) -> dict[str, Any]:
        """The report.json shape."""
        return {
            "run": {
                "id": self.id,
                "audit": self.audit,
                "site": self.site,
                "status": str(self.status),
                "trigger": self.trigger,
                "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at),
                "base_url": self.base_url,
                "internal_errors": list(self.internal_errors),
            },
            "checks": [c.to_dict() for c in self.checks],
            "findings": [f.to_dict() for f in self.findings],
            "stats": self.stats(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


# Output keys whose values belong to one run (a scenario's `order_number`, its `customer`).
_VOLATILE_KEYS = frozenset({"order_number", "order_id", "customer_id", "run_id", "email", "password"})


def _volatile(outputs: Mapping[str, Any]) -> Iterator[str]:
    for key, value in outputs.items():
        if key in _VOLATILE_KEYS and isinstance(value, str | int) and not isinstance(value, bool):
            yield str(value)
        elif key == "customer" and isinstance(value, Mapping):
            yield from _volatile(value)


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None

"""The shape every report shares: findings grouped by check and kind, worst first, capped."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from auditor.results import Artifact, CheckResult, Finding, RunResult, Severity, Status

# A URL broken on 10,000 pages is one finding; list this many of its pages and count the rest.
MAX_SOURCES = 20
# Findings shown per (check, kind) group in the HTML report before "and N more".
MAX_FINDINGS_PER_GROUP = 200

# XML 1.0 forbids these code points even when escaped; site text can contain any of them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_CHECK_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.PASS: 3, Status.SKIP: 4}


def xml_safe(text: str | None) -> str:
    """`text` with the characters XML cannot carry removed."""
    return _INVALID_XML.sub("", text or "")


def gates(severity: Severity, fail_on: Severity) -> bool:
    """Whether a finding of `severity` fails a gate that fails on `fail_on` (error, or warning too)."""
    return severity == Severity.ERROR or fail_on == Severity.WARNING


@dataclass(frozen=True)
class Gating:
    """What makes a finding fail: its severity against `fail_on`, unless the baseline knows it.

    Runs of `auditor run` fail on errors with no baseline; `auditor gate` may fail on warnings
    too and pass findings its baseline lists (they are shown as known, never hidden)."""

    known: frozenset[str] = frozenset()
    fail_on: Severity = Severity.ERROR

    def is_known(self, f: Finding) -> bool:
        return f.fingerprint in self.known

    def fails(self, f: Finding) -> bool:
        """A finding that fails: at or above `fail_on` and not in the baseline."""
        return gates(f.severity, self.fail_on) and not self.is_known(f)

    def counts(self, f: Finding) -> bool:
        """A finding at or above `fail_on`, known or not."""
        return gates(f.severity, self.fail_on)

    def check_fails(self, check: CheckResult) -> bool:
        """A check fails when it has a failing finding, or failed (or warned, when warnings fail)
        with no finding to say why; a check that failed only with known findings does not."""
        if any(self.fails(f) for f in check.findings):
            return True
        bad = {Status.FAIL, Status.WARN} if self.fail_on == Severity.WARNING else {Status.FAIL}
        return check.derived_status() in bad and not any(self.counts(f) for f in check.findings)


@dataclass
class KindGroup:
    """The findings of one kind in one check."""

    check: str
    kind: str
    findings: list[Finding]

    @property
    def severity(self) -> Severity:
        errors = any(f.severity == Severity.ERROR for f in self.findings)
        return Severity.ERROR if errors else Severity.WARNING

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]


@dataclass
class CheckView:
    """One check with its findings grouped by kind (kinds with errors first)."""

    result: CheckResult
    status: Status
    groups: list[KindGroup] = field(default_factory=list)
    artifacts: list[tuple[Artifact, str]] = field(default_factory=list)


def group_by_kind(check: CheckResult) -> list[KindGroup]:
    """`check`'s findings grouped by kind: groups holding errors first, then by size."""
    by_kind: dict[str, list[Finding]] = {}
    for f in check.findings:
        by_kind.setdefault(f.kind, []).append(f)
    groups = [KindGroup(check.name, kind, fs) for kind, fs in by_kind.items()]
    groups.sort(key=lambda g: (g.severity != Severity.ERROR, -len(g.findings), g.kind))
    return groups


def check_views(run: RunResult, directory: Path | None = None) -> list[CheckView]:
    """The run's checks, failing ones first, each with grouped findings and relative artifact links."""
    base = directory or run.report_dir
    views = [
        CheckView(
            result=c,
            status=c.derived_status(),
            groups=group_by_kind(c),
            artifacts=[(a, artifact_href(a.path, base)) for a in c.artifacts],
        )
        for c in run.checks
    ]
    views.sort(key=lambda v: _CHECK_ORDER[v.status])
    return views


def artifact_href(path: Path, base: Path | None) -> str:
    """A link to `path` relative to the report folder, so the folder can be moved or uploaded."""
    if path.is_absolute() and base is not None:
        return Path(os.path.relpath(path, base)).as_posix()
    return path.as_posix()


def cut_short(run: RunResult) -> list[str]:
    """One line per crawl that stopped before it visited everything (a `crawl_incomplete` finding):
    "links: cut short, 358 URL(s) not visited (max_pages=500 reached: 358)"."""
    lines = []
    for f in run.findings:
        if f.kind != "crawl_incomplete":
            continue
        ev = f.evidence if isinstance(f.evidence, dict) else {}
        total, reasons = ev.get("not_visited"), ev.get("by_reason")
        if isinstance(total, int) and total > 0:
            why = ""
            if isinstance(reasons, dict) and reasons:
                why = " (" + "; ".join(f"{r}: {n}" for r, n in reasons.items()) + ")"
            lines.append(f"{f.check}: cut short, {total} URL(s) not visited{why}")
        else:
            first = f.message.split(". ")[0].removeprefix("The crawl stopped short: ")
            lines.append(f"{f.check}: cut short: {first}")
    return lines


def internal_note(run: RunResult) -> str:
    """What a reader must know when auditor itself failed during the run ("" when it did not)."""
    n = len(run.internal_errors)
    if not n:
        return ""
    return (
        f"auditor hit {n} internal error(s) during this run, so its results may be incomplete "
        "(what was found is kept). This is an auditor problem, not the site's: see below, and the "
        "log (run with -v) for the details."
    )


def headline(run: RunResult) -> str:
    """One sentence a shop owner reads first."""
    stats = run.stats()
    errors, warnings = int(stats["errors"]), int(stats["warnings"])
    failed = [c.name for c in run.checks if c.derived_status() == Status.FAIL]
    crashed = [c.name for c in run.checks if c.derived_status() == Status.ERROR]
    parts: list[str] = []
    if failed:
        parts.append(f"{len(failed)} check(s) found problems customers would hit ({', '.join(failed)})")
    if crashed:
        parts.append(f"{len(crashed)} check(s) could not run ({', '.join(crashed)})")
    if run.internal_errors:
        parts.append(f"auditor hit {len(run.internal_errors)} internal error(s)")
    if not parts:
        parts.append("Every check passed" if not warnings else "Every check passed, with warnings")
    return f"{'; '.join(parts)}. {errors} error(s), {warnings} warning(s)."

"""The gate's decision, pure: a finished run, the baseline and --fail-on in; an exit code out.

0 nothing fails the gate · 1 a finding at or above --fail-on that the baseline does not know (or a
check that failed without one) · 3 nothing failed, but something could not be checked: a check
errored, the time budget ran out, the run was interrupted. A broken site wins over "could not
check": the failures found are real whatever else happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.report.view import Gating
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Status

OK, FAILURES, INFRASTRUCTURE = 0, 1, 3


@dataclass
class GateVerdict:
    """What the gate decided, and the findings and checks behind it."""

    code: int
    gating: Gating
    failures: list[Finding] = field(default_factory=list)
    known: list[Finding] = field(default_factory=list)
    failed_checks: list[CheckResult] = field(default_factory=list)
    errored: list[CheckResult] = field(default_factory=list)
    flaky: list[CheckResult] = field(default_factory=list)
    budget_exceeded: bool = False

    def line(self) -> str:
        """One line for the top of the console output and summary.md."""
        word = {OK: "PASS", FAILURES: "FAIL"}.get(self.code, "COULD NOT CHECK")
        parts = [f"{len(self.failures)} new failure(s)"]
        if self.failed_checks:
            parts.append(f"{len(self.failed_checks)} failed check(s) without a finding")
        if self.known:
            parts.append(f"{len(self.known)} known (in the baseline)")
        if self.flaky:
            parts.append(f"{len(self.flaky)} flaky check(s)")
        if self.errored:
            parts.append(f"{len(self.errored)} check(s) could not run")
        if self.budget_exceeded:
            parts.append("time budget exceeded")
        return f"Gate {word} (exit {self.code}): " + ", ".join(parts)


def decide(run: RunResult, gating: Gating) -> GateVerdict:
    """The gate's verdict on `run` (see the module docstring for the exit codes)."""
    v = GateVerdict(OK, gating)
    for c in run.checks:
        v.failures += [f for f in c.findings if gating.fails(f)]
        v.known += [f for f in c.findings if gating.counts(f) and gating.is_known(f)]
        if gating.check_fails(c) and not any(gating.counts(f) for f in c.findings):
            v.failed_checks.append(c)
        if c.derived_status() == Status.ERROR:
            v.errored.append(c)
        if c.stats.get("flaky"):
            v.flaky.append(c)
        if c.stats.get("time_budget_exceeded"):
            v.budget_exceeded = True
    if v.failures or v.failed_checks:
        v.code = FAILURES
    elif v.errored or v.budget_exceeded or run.status == RunStatus.INTERRUPTED:
        v.code = INFRASTRUCTURE
    return v

"""junit.xml: one testcase per check and one per (check, finding kind), for CI test report views.

With a gate's baseline, findings it knows do not fail: a kind whose every failing-severity finding
is known is a *skipped* testcase ("known: in the baseline"), which GitHub's and GitLab's test views
show apart from passes, and a check that failed only with known findings passes with a note. A
`--fail-on warning` gate makes warnings fail here too, so junit.xml and the exit code agree.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from auditor.report.view import Gating, KindGroup, group_by_kind, xml_safe
from auditor.results import CheckResult, Finding, RunResult, Severity, Status


def render_junit(run: RunResult, gating: Gating | None = None) -> str:
    """The JUnit XML of `run`: failures for broken checks and for each kind of failing finding."""
    gating = gating or Gating()
    suite = ET.Element("testsuite", name=xml_safe(run.audit), timestamp=run.started_at.isoformat())
    classname = xml_safe(f"auditor.{run.audit}")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for check in run.checks:
        total_time += check.duration_s
        counts["tests"] += 1
        outcome = _check_case(suite, classname, check, gating)
        if outcome:
            counts[outcome] += 1
        for group in group_by_kind(check):
            counts["tests"] += 1
            outcome = _kind_case(suite, classname, group, gating)
            if outcome:
                counts[outcome] += 1
    if run.internal_errors:
        # CI test views show errors apart from failures: auditor's own trouble is one of them.
        counts["tests"] += 1
        counts["errors"] += 1
        case = _case(suite, classname, "auditor: internal errors", 0.0)
        text = "\n".join(xml_safe(e) for e in run.internal_errors)
        first = xml_safe(run.internal_errors[0])
        ET.SubElement(case, "error", message=first, type="internal").text = text
    suite.set("tests", str(counts["tests"]))
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", f"{total_time:.3f}")
    suites = ET.Element("testsuites", name="auditor")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _case(suite: ET.Element, classname: str, name: str, seconds: float) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=xml_safe(name), time=f"{seconds:.3f}")


def _check_case(suite: ET.Element, classname: str, check: CheckResult, gating: Gating) -> str | None:
    """Add the testcase of one check; returns the counter it adds to (failures, errors...), if any."""
    status = check.derived_status()
    case = _case(suite, classname, check.name, check.duration_s)
    message = xml_safe(check.message or f"{check.name} {status}")
    if status == Status.ERROR:
        ET.SubElement(case, "error", message=message, type="error").text = message
        return "errors"
    if status == Status.SKIP:
        ET.SubElement(case, "skipped", message=message)
        return "skipped"
    if gating.check_fails(check):
        ET.SubElement(case, "failure", message=message, type=str(status)).text = message
        return "failures"
    if status == Status.FAIL or (status == Status.WARN and gating.fail_on == Severity.WARNING):
        known = sum(1 for f in check.findings if gating.counts(f))
        note = f"{check.name} {status} with known findings only ({known} in the baseline): not a gate failure"
        ET.SubElement(case, "system-out").text = xml_safe(note)
    elif check.message:
        ET.SubElement(case, "system-out").text = message
    return None


def _kind_case(suite: ET.Element, classname: str, group: KindGroup, gating: Gating) -> str | None:
    """Add the testcase of one finding kind; returns the counter it adds to, if any."""
    case = _case(suite, classname, f"{group.check}: {group.kind}", 0.0)
    failing = [f for f in group.findings if gating.fails(f)]
    known = [f for f in group.findings if gating.counts(f) and gating.is_known(f)]
    text = "\n".join(_line(f, gating) for f in group.findings)
    if failing:
        errors, warnings = group.errors, group.warnings
        if gating.known:
            message = f"{len(failing)} new {group.kind} finding(s)"
            if known:
                message += f" and {len(known)} known in the baseline"
        else:
            message = f"{len(errors)} {group.kind} error(s)" if errors else ""
            if warnings:
                sep = " and " if message else ""
                message += f"{sep}{len(warnings)} {'' if errors else group.kind + ' '}warning(s)"
        failure = ET.SubElement(case, "failure", message=message, type=xml_safe(group.kind))
        failure.text = text
        return "failures"
    if known:
        message = f"known: {len(known)} {group.kind} finding(s) in the baseline"
        ET.SubElement(case, "skipped", message=message).text = text
        return "skipped"
    ET.SubElement(case, "system-out").text = text
    return None


def _line(f: Finding, gating: Gating) -> str:
    source = f.source or "-"
    more = f" (+{len(f.sources) - 1} more pages)" if len(f.sources) > 1 else ""
    mark = "[known] " if gating.is_known(f) else ""
    named = str(f.evidence.get("step", ""))
    step = f" at step '{named}'" if named and named not in f.message else ""
    return xml_safe(f"{mark}[{f.severity}] {f.url} on {source}{more}{step}: {f.message}")

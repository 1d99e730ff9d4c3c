"""junit.xml: one testcase per check and one per (check, finding kind), for CI test report views."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from auditor.report.view import KindGroup, group_by_kind, xml_safe
from auditor.results import Finding, RunResult, Status


def render_junit(run: RunResult) -> str:
    """The JUnit XML of `run`: failures for broken checks and for each kind of error finding."""
    suite = ET.Element("testsuite", name=xml_safe(run.audit), timestamp=run.started_at.isoformat())
    classname = xml_safe(f"auditor.{run.audit}")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for check in run.checks:
        status = check.derived_status()
        case = _case(suite, classname, check.name, check.duration_s)
        total_time += check.duration_s
        counts["tests"] += 1
        message = xml_safe(check.message or f"{check.name} {status}")
        if status == Status.FAIL:
            ET.SubElement(case, "failure", message=message, type="fail").text = message
            counts["failures"] += 1
        elif status == Status.ERROR:
            ET.SubElement(case, "error", message=message, type="error").text = message
            counts["errors"] += 1
        elif status == Status.SKIP:
            ET.SubElement(case, "skipped", message=message)
            counts["skipped"] += 1
        for group in group_by_kind(check):
            counts["tests"] += 1
            counts["failures"] += _kind_case(suite, classname, group)
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


def _kind_case(suite: ET.Element, classname: str, group: KindGroup) -> int:
    """Add the testcase of one finding kind; returns 1 when it is a failure."""
    case = _case(suite, classname, f"{group.check}: {group.kind}", 0.0)
    errors, warnings = group.errors, group.warnings
    if errors:
        message = f"{len(errors)} {group.kind} error(s)"
        if warnings:
            message += f" and {len(warnings)} warning(s)"
        failure = ET.SubElement(case, "failure", message=message, type=xml_safe(group.kind))
        failure.text = "\n".join(_line(f) for f in group.findings)
        return 1
    ET.SubElement(case, "system-out").text = "\n".join(_line(f) for f in warnings)
    return 0


def _line(f: Finding) -> str:
    source = f.source or "-"
    more = f" (+{len(f.sources) - 1} more pages)" if len(f.sources) > 1 else ""
    return xml_safe(f"[{f.severity}] {f.url} on {source}{more}: {f.message}")

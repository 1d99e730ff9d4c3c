"""What a CI job shows of a gate: console lines, GitHub Actions annotations, the job summary.

Each failure is one line with its URL and, for a scenario, the step it broke at: the CI log is
often all a developer opens. On GitHub Actions (`GITHUB_ACTIONS=true`) each failing finding is
also an `::error` annotation (capped: GitHub shows at most 10 per step anyway, and a log of
thousands helps nobody), and summary.md is appended to `$GITHUB_STEP_SUMMARY` when it is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from auditor.gate.verdict import GateVerdict
from auditor.results import Finding, RunResult

MAX_ANNOTATIONS = 50
MAX_CONSOLE_LINES = 50


def where(f: Finding) -> str:
    """`url (on page and N more page(s)) at step 'S'`: where a person finds the problem."""
    text = f.url
    if f.source and f.source != f.url:
        more = f" and {len(f.sources) - 1} more page(s)" if len(f.sources) > 1 else ""
        text += f" (on {f.source}{more})"
    step = str(f.evidence.get("step", ""))
    if step and step not in f.message:
        text += f" at step '{step}'"
    return text


def _finding_line(f: Finding) -> str:
    message = " ".join(f.message.split())
    return f"  - {f.severity} {f.kind} [{f.check}] {where(f)}: {message}"


def _section(out: TextIO, title: str, lines: list[str]) -> None:
    if not lines:
        return
    print(title, file=out)
    for line in lines[:MAX_CONSOLE_LINES]:
        print(line, file=out)
    if len(lines) > MAX_CONSOLE_LINES:
        print(f"  ... and {len(lines) - MAX_CONSOLE_LINES} more (see summary.md and junit.xml)", file=out)


def print_console(run: RunResult, verdict: GateVerdict, out: TextIO) -> None:
    """The gate's verdict, each check, then every failure with its URL and step."""
    print(f"\n{verdict.line()}", file=out)
    print(f"audit {run.audit!r} on {run.base_url} (run {run.id})", file=out)
    for c in run.checks:
        status = "flaky" if c.stats.get("flaky") else str(c.derived_status())
        msg = f": {' '.join(c.message.split())}" if c.message else ""
        print(
            f"  {status:<5} {c.name} ({c.kind}, {c.duration_s:.1f} s, {len(c.findings)} finding(s)){msg}",
            file=out,
        )
    _section(out, "New failures:", [_finding_line(f) for f in verdict.failures])
    _section(
        out,
        "Failed checks:",
        [f"  - {c.name}: {c.derived_status()}: {c.message or 'no message'}" for c in verdict.failed_checks],
    )
    _section(out, "Could not check:", [f"  - {c.name}: {c.message or 'error'}" for c in verdict.errored])
    _section(out, "Known (in the baseline, not failing):", [_finding_line(f) for f in verdict.known])
    _section(
        out,
        "Flaky (failed, then passed on the re-run):",
        [f"  - {c.name}: {c.message}" for c in verdict.flaky],
    )
    if run.report_dir:
        d = run.report_dir
        print(f"Reports: {d / 'junit.xml'}, {d / 'summary.md'}, {d / 'report.html'}", file=out)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, title: str, message: str) -> str:
    return f"::{level} title={_escape_property(title)}::{_escape_data(message)}"


def github_annotations(verdict: GateVerdict) -> list[str]:
    """GitHub Actions workflow commands: an `::error` per failing finding (capped), per failed or
    errored check without a finding, and a `::warning` per flaky check."""
    lines = [
        _command("error", f"{f.kind} ({f.check})", f"{f.message} ({where(f)})")
        for f in verdict.failures[:MAX_ANNOTATIONS]
    ]
    if len(verdict.failures) > MAX_ANNOTATIONS:
        rest = len(verdict.failures) - MAX_ANNOTATIONS
        lines.append(
            _command("error", "auditor", f"and {rest} more failure(s): see summary.md and junit.xml")
        )
    lines += [
        _command("error", f"{c.name} {c.derived_status()}", c.message or "")
        for c in [*verdict.failed_checks, *verdict.errored]
    ]
    lines += [_command("warning", f"flaky: {c.name}", c.message or "") for c in verdict.flaky]
    return lines


def publish(
    summary_md: str, verdict: GateVerdict, out: TextIO, environ: Mapping[str, str] | None = None
) -> None:
    """On GitHub Actions: print the annotations; wherever $GITHUB_STEP_SUMMARY is set: append to it."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(verdict):
            print(line, file=out)
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with Path(summary_path).open("a", encoding="utf-8") as fh:
            fh.write(summary_md if summary_md.endswith("\n") else summary_md + "\n")


def publish_stop(reason: str, code: int, out: TextIO, environ: Mapping[str, str] | None = None) -> None:
    """The gate stopped before a verdict (exit 2, 3 or 4): say why where CI shows it."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        print(_command("error", f"auditor gate could not run (exit {code})", reason), file=out)
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with Path(summary_path).open("a", encoding="utf-8") as fh:
            fh.write(f"## auditor gate: could not run (exit {code})\n\n{reason}\n")

"""summary.md: a short Markdown summary for a CI step summary or a pull-request comment."""

from __future__ import annotations

import re

from auditor.report.history import Mark, mark
from auditor.report.view import Gating, check_views, cut_short, headline, internal_note
from auditor.results import CheckResult, Finding, RunResult, Severity, Status
from auditor.store.history import History

# A step summary is read at a glance: list this many failures, then count the rest.
MAX_FAILURE_LINES = 50

# Brackets are escaped, so "(" can never start a link target; "#", "+" and "!" only matter at the
# start of a line, and site text never starts one.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~])")


def escape(text: str | None) -> str:
    """`text` shown literally in Markdown (and in a table cell: no pipes or line breaks)."""
    flat = " ".join((text or "").split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def render_markdown(
    run: RunResult, gating: Gating | None = None, verdict: str | None = None, history: History | None = None
) -> str:
    """summary.md for `run`: status line, counts per check, top failures, pointer to report.html.

    A gate passes its `gating` (baseline, --fail-on) and a `verdict` line: failures are then only
    what fails the gate, and findings the baseline knows are listed apart, as known. With `history`,
    each failure says whether it is new, and what resolved since the previous run is listed."""
    gating = gating or Gating()
    history = history or History.unavailable("")
    lines = [
        f"## auditor: {str(run.status).upper()} · {escape(run.audit)} on {code(run.base_url)}",
        "",
    ]
    if verdict:
        lines += [f"**{escape(verdict)}**", ""]
    lines += [f"**[{str(run.status).upper()}]** {escape(headline(run))}", ""]
    if history.previous:
        p = history.previous
        lines += [
            f"Previous run: {code(p.id)} ({p.status}, {p.started_at:%Y-%m-%d %H:%M} UTC); "
            f"{len(history.resolved)} finding(s) resolved since.",
            "",
        ]
    for line in cut_short(run):
        lines += [f"> **Crawl cut short**: {escape(line)}", ""]
    if run.internal_errors:
        lines += [f"> **{escape(internal_note(run))}**", ">"]
        lines += [f"> - {escape(e)}" for e in run.internal_errors[:MAX_FAILURE_LINES]]
        lines.append("")
    lines += [
        "| Check | Status | Errors | Warnings | Time |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    views = check_views(run)
    for v in views:
        errors = sum(1 for f in v.result.findings if f.severity == Severity.ERROR)
        warnings = len(v.result.findings) - errors
        lines.append(
            f"| {escape(v.result.name)} | {_status(v.result)} | {errors} | {warnings} "
            f"| {v.result.duration_s:.1f} s |"
        )
    failures = [f for v in views for g in v.groups for f in g.findings if gating.fails(f)]
    known = [
        f for v in views for g in v.groups for f in g.findings if gating.counts(f) and gating.is_known(f)
    ]
    broken = [
        v.result
        for v in views
        if v.status == Status.ERROR
        or (gating.check_fails(v.result) and not any(map(gating.counts, v.result.findings)))
    ]
    if failures or broken:
        lines += ["", "### Failures", ""]
        for c in broken:
            lines.append(f"- **{escape(c.name)}** {c.derived_status()}: {escape(c.message or '')}")
        lines += _capped([_failure_line(f, mark(f, history, run)) for f in failures])
    if known:
        lines += ["", "### Known (in the baseline, not failing)", ""]
        lines += _capped([_failure_line(f, mark(f, history, run)) for f in known])
    if history.resolved:
        lines += ["", "### Resolved since the last run", ""]
        lines += _capped(
            [
                f"- **{escape(r.check)}** {escape(r.kind)}: {code(r.url)} — {escape(r.message)}"
                for r in history.resolved
            ]
        )
    lines += ["", "Full report: `report.html` (evidence, screenshots and every page a problem is on).", ""]
    return "\n".join(lines)


def _status(check: CheckResult) -> str:
    """The check's status for the table; a check that passed only on its re-run is FLAKY."""
    return "FLAKY" if check.stats.get("flaky") else str(check.derived_status()).upper()


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_FAILURE_LINES:
        return lines
    return [*lines[:MAX_FAILURE_LINES], f"- and {len(lines) - MAX_FAILURE_LINES} more"]


def code(url: str | None) -> str:
    """`url` as a code span: shown literally, never turned into a surprising link or markup."""
    flat = "".join((url or "").split()).replace("`", "%60")
    return f"`{flat}`"


def _failure_line(f: Finding, m: Mark | None = None) -> str:
    where = f" on {code(f.source)}" if f.source else ""
    more = f" (+{len(f.sources) - 1} more pages)" if len(f.sources) > 1 else ""
    step = f" at step {escape(str(f.evidence['step']))}" if "step" in f.evidence else ""
    seen = f" _{escape(m.label)}_" if m else ""
    what = f"**{escape(f.check)}** {escape(f.kind)}{seen}: {code(f.url)}"
    return f"- {what}{where}{more}{step} — {escape(f.message)}"

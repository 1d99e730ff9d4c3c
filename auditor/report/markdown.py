"""summary.md: a short Markdown summary for a CI step summary or a pull-request comment."""

from __future__ import annotations

import re

from auditor.report.view import check_views, headline
from auditor.results import Finding, RunResult, Severity

# A step summary is read at a glance: list this many failures, then count the rest.
MAX_FAILURE_LINES = 50

# Brackets are escaped, so "(" can never start a link target; "#", "+" and "!" only matter at the
# start of a line, and site text never starts one.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~])")


def escape(text: str | None) -> str:
    """`text` shown literally in Markdown (and in a table cell: no pipes or line breaks)."""
    flat = " ".join((text or "").split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def render_markdown(run: RunResult) -> str:
    """summary.md for `run`: status line, counts per check, top failures, pointer to report.html."""
    lines = [
        f"## auditor: {str(run.status).upper()} · {escape(run.audit)} on {code(run.base_url)}",
        "",
        f"**[{str(run.status).upper()}]** {escape(headline(run))}",
        "",
        "| Check | Status | Errors | Warnings | Time |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    views = check_views(run)
    for v in views:
        errors = sum(1 for f in v.result.findings if f.severity == Severity.ERROR)
        warnings = len(v.result.findings) - errors
        lines.append(
            f"| {escape(v.result.name)} | {str(v.status).upper()} | {errors} | {warnings} "
            f"| {v.result.duration_s:.1f} s |"
        )
    failures = [f for v in views for g in v.groups for f in g.errors]
    broken = [v.result for v in views if v.status in ("fail", "error") and not v.groups]
    if failures or broken:
        lines += ["", "### Failures", ""]
        for c in broken:
            lines.append(f"- **{escape(c.name)}** {c.derived_status()}: {escape(c.message or '')}")
        lines += [_failure_line(f) for f in failures[:MAX_FAILURE_LINES]]
        if len(failures) > MAX_FAILURE_LINES:
            lines.append(f"- and {len(failures) - MAX_FAILURE_LINES} more")
    lines += ["", "Full report: `report.html` (evidence, screenshots and every page a problem is on).", ""]
    return "\n".join(lines)


def code(url: str | None) -> str:
    """`url` as a code span: shown literally, never turned into a surprising link or markup."""
    flat = "".join((url or "").split()).replace("`", "%60")
    return f"`{flat}`"


def _failure_line(f: Finding) -> str:
    where = f" on {code(f.source)}" if f.source else ""
    more = f" (+{len(f.sources) - 1} more pages)" if len(f.sources) > 1 else ""
    step = f" at step {escape(str(f.evidence['step']))}" if "step" in f.evidence else ""
    return f"- **{escape(f.check)}** {escape(f.kind)}: {code(f.url)}{where}{more}{step} — {escape(f.message)}"

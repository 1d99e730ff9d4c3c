"""report.html: one self-contained page a shop owner can read (what broke, where, how to reproduce)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from auditor.report.view import (
    MAX_FINDINGS_PER_GROUP,
    MAX_SOURCES,
    check_views,
    cut_short,
    headline,
    internal_note,
)
from auditor.results import RunResult

_env = Environment(
    loader=PackageLoader("auditor.report", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _evidence(value: Any) -> str:
    """Evidence values as short readable text (lists and dicts as compact JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


_env.filters["evidence"] = _evidence


def render_html(run: RunResult, directory: Path | None = None) -> str:
    """The HTML report of `run`; artifact links are relative to `directory` (else run.report_dir)."""
    views = check_views(run, directory)
    return _env.get_template("report.html.j2").render(
        run=run,
        stats=run.stats(),
        headline=headline(run),
        cut_short=cut_short(run),
        internal_note=internal_note(run),
        problems=[v for v in views if any(g.errors for g in v.groups)],
        warnings=[g for v in views for g in v.groups if g.warnings],
        checks=views,
        max_sources=MAX_SOURCES,
        max_findings=MAX_FINDINGS_PER_GROUP,
    )

"""report.html: one self-contained page a shop owner can read (what broke, where, how to reproduce)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import PackageLoader, select_autoescape
from markupsafe import Markup

from auditor.report.history import Mark, chart_svg, mark, report_href
from auditor.report.reproduce import Step, steps
from auditor.report.view import (
    MAX_FINDINGS_PER_GROUP,
    MAX_SOURCES,
    check_views,
    cut_short,
    headline,
    internal_note,
)
from auditor.results import CheckResult, Finding, RunResult
from auditor.store.history import History
from auditor.template_cache import cached_environment

# An email's text part is shown up to this many characters (the rest is one click away in the mailbox).
MAX_EMAIL_TEXT = 4000
MAX_EMAIL_LINKS = 50
# Evidence shown elsewhere in the card, or folded away as a developer's detail.
_SHOWN_APART = frozenset({"email", "step"})

# Compiled once, then loaded from the user's cache on later runs (auditor.template_cache).
_env = cached_environment(
    "report",
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


@dataclass
class Email:
    """An email as a finding's evidence carries it, every field checked (evidence is site text)."""

    subject: str
    sender: str
    received_at: str
    text: str
    cut: int
    links: list[dict[str, str]] = field(default_factory=list)
    more_links: int = 0


@dataclass
class Detail:
    """What a finding's card shows besides its message: mark, reproduce lines, email, evidence."""

    mark: Mark | None
    steps: list[Step]
    email: Email | None
    evidence: list[tuple[str, Any]]
    traceback: str | None


def is_traceback(value: Any) -> bool:
    """A Python traceback (auditor's internals, not something a shop owner acts on)."""
    return isinstance(value, str) and ("Traceback (most recent call last)" in value or '\n  File "' in value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def email_of(evidence: Mapping[str, Any]) -> Email | None:
    raw = evidence.get("email")
    if not isinstance(raw, Mapping):
        return None
    text = _text(raw.get("text"))
    given, cut_before = raw.get("links"), raw.get("text_cut")
    links: list[Any] = given if isinstance(given, list) else []
    shown = [
        {
            "url": _text(link.get("url")),
            "text": _text(link.get("text")),
            "status": _text(link.get("status")) or "-",
            "verdict": _text(link.get("verdict")),
        }
        for link in links[:MAX_EMAIL_LINKS]
        if isinstance(link, Mapping)
    ]
    cut = max(0, len(text) - MAX_EMAIL_TEXT)
    return Email(
        subject=_text(raw.get("subject")),
        sender=_text(raw.get("from")),
        received_at=_text(raw.get("received_at")),
        text=text[:MAX_EMAIL_TEXT],
        cut=cut + (cut_before if isinstance(cut_before, int) else 0),
        links=shown,
        more_links=max(0, len(links) - MAX_EMAIL_LINKS),
    )


def render_html(run: RunResult, directory: Path | None = None, history: History | None = None) -> str:
    """The HTML report of `run`; artifact links are relative to `directory` (else run.report_dir)."""
    history = history or History.unavailable("")
    views = check_views(run, directory)
    checks: dict[str, CheckResult] = {c.name: c for c in run.checks}
    base = directory or run.report_dir

    def detail(f: Finding) -> Detail:
        ev = f.evidence if isinstance(f.evidence, Mapping) else {}
        traces = [str(v) for k, v in ev.items() if is_traceback(v)]
        return Detail(
            mark=mark(f, history, run),
            steps=steps(f, checks.get(f.check), run, base),
            email=email_of(ev),
            evidence=[(k, v) for k, v in ev.items() if k not in _SHOWN_APART and not is_traceback(v)],
            traceback="\n\n".join(traces) or None,
        )

    prev = history.previous
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
        detail=detail,
        history=history,
        previous=prev,
        previous_href=report_href(prev, base) if prev else None,
        chart=Markup(chart_svg(history, run)) if history.available else None,
        new_count=sum(
            1 for f in run.findings if history.available and (f.check, f.fingerprint) not in history.since
        ),
    )

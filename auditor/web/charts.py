"""A site's history as server-rendered SVG: status per run, duration, findings by kind (oldest left).

No script and no chart library: the page stays readable without JavaScript, and each mark has a
<title> a screen reader or a hover can read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from urllib.parse import quote

from markupsafe import Markup

from auditor.web.queries import RunPoint, StripRun

WIDTH, HEIGHT, PAD = 900, 140, 34
COLOURS = {
    "pass": "#1a7f37",
    "warn": "#8a5a00",
    "fail": "#b42318",
    "error": "#6e40c9",
    "interrupted": "#57606a",
    "running": "#0b5cad",
    "queued": "#0b5cad",
}
# Run ids and statuses as auditor makes them need no escaping (the strip draws thousands).
_PLAIN = re.compile(r"[A-Za-z0-9._-]+\Z")
_STATUS = {s: s for s in COLOURS}
# Findings series, in order; the rest are summed as "other".
KIND_COLOURS = ("#b42318", "#0550ae", "#8a5a00", "#6e40c9", "#1a7f37", "#57606a")


def _frame(label: str, body: str, y_max: str) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        f'<text x="2" y="14" font-size="11" fill="#4a525c">{escape(y_max)}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - 14}" x2="{WIDTH}" y2="{HEIGHT - 14}" stroke="#d0d7de"/>'
        f"{body}</svg>"
    )


def _slots(n: int) -> tuple[float, float]:
    step = (WIDTH - PAD) / max(n, 1)
    return step, max(1.0, step * 0.8)


def status_chart(points: Sequence[RunPoint]) -> Markup:
    pts = list(reversed(points))
    step, bar = _slots(len(pts))
    body = "".join(
        f'<rect x="{PAD + i * step:.1f}" y="20" width="{bar:.1f}" height="{HEIGHT - 40}" '
        f'fill="{COLOURS.get(p.run.status, "#57606a")}">'
        f"<title>{escape(p.run.id)}: {escape(p.run.status)}</title></rect>"
        for i, p in enumerate(pts)
    )
    return _frame(f"status of the last {len(pts)} runs", body, "")


def duration_chart(points: Sequence[RunPoint]) -> Markup:
    pts = list(reversed(points))
    top = max((p.run.duration_s or 0.0 for p in pts), default=0.0) or 1.0
    step, bar = _slots(len(pts))
    usable = HEIGHT - 34
    body = []
    for i, p in enumerate(pts):
        d = p.run.duration_s
        if d is None:
            continue
        h = max(1.0, usable * d / top)
        body.append(
            f'<rect x="{PAD + i * step:.1f}" y="{HEIGHT - 14 - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="#0550ae"><title>{escape(p.run.id)}: {d:.1f} s</title></rect>'
        )
    return _frame(f"duration of the last {len(pts)} runs, up to {top:.0f} s", "".join(body), f"{top:.0f} s")


def findings_chart(points: Sequence[RunPoint]) -> tuple[Markup, list[tuple[str, str]]]:
    """Stacked bars of findings by kind; also the legend (kind, colour)."""
    pts = list(reversed(points))
    totals: dict[str, int] = {}
    for p in pts:
        for kind, n in p.findings.items():
            totals[kind] = totals.get(kind, 0) + n
    kinds = [k for k, _ in sorted(totals.items(), key=lambda kv: -kv[1])][: len(KIND_COLOURS) - 1]
    colours = dict(zip(kinds, KIND_COLOURS, strict=False))
    top = max((p.findings_total for p in pts), default=0) or 1
    step, bar = _slots(len(pts))
    usable = HEIGHT - 34
    body = []
    for i, p in enumerate(pts):
        y = float(HEIGHT - 14)
        series: dict[str, int] = {}
        for kind, n in p.findings.items():
            key = kind if kind in colours else "other"
            series[key] = series.get(key, 0) + n
        for kind, n in series.items():
            h = usable * n / top
            y -= h
            colour = colours.get(kind, KIND_COLOURS[-1])
            body.append(
                f'<rect x="{PAD + i * step:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}">'
                f"<title>{escape(p.run.id)}: {n} {escape(kind)}</title></rect>"
            )
    legend = [(k, colours[k]) for k in kinds]
    if len(totals) > len(kinds):
        legend.append(("other", KIND_COLOURS[-1]))
    return _frame(
        f"findings by kind of the last {len(pts)} runs, up to {top}", "".join(body), str(top)
    ), legend


def _run_href(run_id: str) -> str:
    return run_id if _PLAIN.match(run_id) else quote(run_id, safe="")


def strip_html(runs: Sequence[StripRun]) -> Markup:
    """The status strip of a site's last runs (oldest first): one link per run, named by its status
    and time. Built here rather than in the template: the overview draws 30 of them per site."""
    cells = "".join(
        f'<a class="cell-{_STATUS.get(r.status) or escape(r.status)}" href="/runs/{_run_href(r.id)}" '
        f'title="{_STATUS.get(r.status) or escape(r.status)} {r.started_at:%Y-%m-%d %H:%M}"></a>'
        for r in runs
    )
    return Markup(
        f'<div class="strip" role="group" aria-label="last {len(runs)} runs, oldest first">{cells}</div>'
    )

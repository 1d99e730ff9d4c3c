"""Run reports: report.json, report.html, junit.xml and summary.md, written after every run."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from auditor.report.html import render_html
from auditor.report.json import render_json
from auditor.report.junit import render_junit
from auditor.report.markdown import render_markdown
from auditor.report.view import Gating
from auditor.results import RunResult

__all__ = [
    "Gating",
    "remove_run_reports",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_reports",
]


def write_reports(
    run: RunResult, directory: Path, gating: Gating | None = None, verdict: str | None = None
) -> dict[str, Path]:
    """Write report.json, report.html, junit.xml and summary.md into `directory` (created).

    A gate passes its `gating` and `verdict` so junit.xml and summary.md say what fails it."""
    directory.mkdir(parents=True, exist_ok=True)
    contents = {
        "json": ("report.json", render_json(run)),
        "html": ("report.html", render_html(run, directory)),
        "junit": ("junit.xml", render_junit(run, gating)),
        "markdown": ("summary.md", render_markdown(run, gating, verdict)),
    }
    paths: dict[str, Path] = {}
    for key, (name, text) in contents.items():
        path = directory / name
        # A badly decoded page can leave lone surrogates in site text: keep writing, mark them.
        path.write_text(text, encoding="utf-8", errors="replace")
        paths[key] = path
    return paths


def remove_run_reports(reports: Iterable[tuple[str, Path]]) -> tuple[int, list[str]]:
    """Delete the report folders of runs that are gone from the database (`auditor db prune`).

    Only a folder named after its run is deleted: that is the `<report_dir>/<run-id>/` auditor made
    itself. A folder someone chose with `--report-dir DIR` (a CI artifact, say) is left alone, and
    so is one that cannot be removed; both come back as reasons. Returns (removed, reasons kept).
    """
    removed, kept = 0, []
    for run_id, folder in reports:
        if not folder.is_dir():
            continue
        if folder.name != run_id:
            kept.append(f"{folder}: not named after run {run_id}, so not a folder auditor made for it")
            continue
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            kept.append(f"{folder}: {exc.strerror or exc}")
        else:
            removed += 1
    return removed, kept

"""Run reports: report.json, report.html, junit.xml and summary.md, written after every run."""

from __future__ import annotations

import json
import logging
import shutil
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Protocol, runtime_checkable

from auditor.containment import degraded, safe_text
from auditor.report.html import render_html
from auditor.report.json import render_json
from auditor.report.junit import render_junit
from auditor.report.markdown import render_markdown
from auditor.report.view import Gating, xml_safe
from auditor.results import Finding, RunResult, RunStatus
from auditor.store.history import History

log = logging.getLogger("auditor.report")


@runtime_checkable
class HistorySource(Protocol):
    """What reads a run's history (auditor.store.Store does)."""

    def history_for(self, run: RunResult) -> History: ...


__all__ = [
    "Gating",
    "History",
    "load_history",
    "remove_run_reports",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_reports",
]


def write_reports(
    run: RunResult,
    directory: Path,
    gating: Gating | None = None,
    verdict: str | None = None,
    store: object | None = None,
) -> dict[str, Path]:
    """Write report.json, report.html, junit.xml and summary.md into `directory` (created).

    A gate passes its `gating` and `verdict` so junit.xml and summary.md say what fails it.
    With the `store` the run is recorded in, the reports say which findings are new, since when the
    others are known, what resolved since the previous run, and how the audit's last runs went.
    A finding that a renderer cannot show (our bug) is shown without its evidence, and a report
    that cannot be rendered at all is written as a short note; either is added to the run's
    `internal_errors` (so the run ends as `error`). Only a folder or file that cannot be written
    raises (OSError)."""
    directory.mkdir(parents=True, exist_ok=True)
    history = load_history(store, run)
    renderers: dict[str, tuple[str, Callable[[RunResult], str]]] = {
        "json": ("report.json", lambda r: render_json(r, history, directory)),
        "html": ("report.html", lambda r: render_html(r, directory, history)),
        "junit": ("junit.xml", lambda r: render_junit(r, gating)),
        "markdown": ("summary.md", lambda r: render_markdown(r, gating, verdict, history)),
    }
    contents = _render_all(run, renderers)
    paths: dict[str, Path] = {}
    for key, (name, _) in renderers.items():
        path = directory / name
        # A badly decoded page can leave lone surrogates in site text: keep writing, mark them.
        path.write_text(contents[key], encoding="utf-8", errors="replace")
        paths[key] = path
    return paths


def load_history(store: object | None, run: RunResult) -> History:
    """What `store` knows of `run`'s audit before `run` (a few queries); a store that cannot answer
    leaves the reports without history, saying why, and never costs them a finding."""
    if not isinstance(store, HistorySource):
        return History.unavailable("This run was not recorded in a database, so there is no history to show.")
    try:
        return store.history_for(run)
    except Exception as exc:
        log.warning("the history of run %s could not be read:\n%s", run.id, traceback.format_exc())
        return History.unavailable(
            f"The history of {run.audit} could not be read from the database ({type(exc).__name__}: "
            f"{safe_text(str(exc))[:300]}); this run's findings are complete. Check the database with "
            "`auditor runs`."
        )


def _render_all(
    run: RunResult, renderers: dict[str, tuple[str, Callable[[RunResult], str]]]
) -> dict[str, str]:
    """Every report's text; a failure is contained to the findings that cause it, else to its report."""
    failed: dict[str, Exception] = {}
    texts: dict[str, str] = {}
    for key, (_, render) in renderers.items():
        try:
            texts[key] = render(run)
        except Exception as exc:
            failed[key] = exc
    if not failed:
        return texts
    for key, err in failed.items():
        name, render = renderers[key]
        trace = "".join(traceback.format_exception(err))
        log.error("%s of run %s could not be rendered:\n%s", name, run.id, trace)
        for f in _culprits(run, render):
            _degrade(run, f, name)
    # Again, every report: the run's status and internal errors changed, and each must say so.
    for key, (name, render) in renderers.items():
        try:
            texts[key] = render(run)
        except Exception as exc:
            log.error("%s of run %s could not be rendered:\n%s", name, run.id, traceback.format_exc())
            internal_error(
                run, f"{name} could not be rendered ({type(exc).__name__}: {exc}); a note stands in"
            )
            texts[key] = _stand_in(key, run, exc)
    return texts


def _culprits(run: RunResult, render: Callable[[RunResult], str]) -> list[Finding]:
    """The findings `render` fails on when each is rendered alone."""
    bad = []
    for check in run.checks:
        for f in check.findings:
            alone = replace(run, checks=[replace(check, findings=[f])])
            try:
                render(alone)
            except Exception:
                bad.append(f)
    return bad


def _degrade(run: RunResult, f: Finding, report: str) -> None:
    """Put a bare copy of `f` (no evidence) where `f` was, and note it as an internal error."""
    error = RuntimeError(f"{report} could not show it")
    bare = degraded(f, f.check, run.base_url, error)
    bare.fingerprint = f.fingerprint
    for check in run.checks:
        check.findings = [bare if x is f else x for x in check.findings]
    internal_error(
        run,
        f"{report}: a {bare.kind} finding of {bare.check} could not be shown whole; "
        "it is shown without its evidence",
    )


def _stand_in(key: str, run: RunResult, exc: Exception) -> str:
    """A short report saying this report could not be rendered (each format stays valid)."""
    what = safe_text(
        f"auditor could not render this report ({type(exc).__name__}: {exc}); this is an auditor bug."
    )
    status = str(run.status)
    if key == "json":
        data = {"run": {"id": run.id, "audit": run.audit, "status": status}, "error": what}
        return json.dumps({**data, "internal_errors": run.internal_errors}, indent=2) + "\n"
    if key == "html":
        return f"<!doctype html><meta charset=utf-8><title>{escape(status)}</title><p>{escape(what)}</p>\n"
    if key == "junit":
        suite = ET.Element("testsuite", name=xml_safe(run.audit), tests="1", errors="1", failures="0")
        case = ET.SubElement(
            suite, "testcase", classname=xml_safe(f"auditor.{run.audit}"), name="auditor: report"
        )
        ET.SubElement(case, "error", message=xml_safe(what), type="internal")
        return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
    return f"## auditor: {status.upper()}\n\n{what}\n"


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


def internal_error(run: RunResult, what: str) -> None:
    """Note an auditor failure in `run` (as the runner does): the run then ends as `error`."""
    run.internal_errors.append(safe_text(what))
    if run.status != RunStatus.INTERRUPTED:
        run.status = RunStatus.ERROR

"""report.json: the run as data (the shape of RunResult.to_dict, plus report fields)."""

from __future__ import annotations

import json
from pathlib import Path

from auditor.report.history import history_json, mark
from auditor.report.reproduce import steps
from auditor.results import RunResult
from auditor.store.history import History

# Bumped when a field is renamed or removed, never when one is added.
SCHEMA_VERSION = 1


def render_json(run: RunResult, history: History | None = None, directory: Path | None = None) -> str:
    """report.json for `run`: run, checks, findings and stats, with the schema version.

    Each finding also has `new`, `known_since` and `open_days` (null without history) and
    `reproduce` (the commands that show it); `history` holds the previous run, what resolved since
    it and the runs charted in report.html."""
    history = history or History.unavailable("no history was given to the report")
    data = run.to_dict()
    data["schema_version"] = SCHEMA_VERSION
    checks = {c.name: c for c in run.checks}
    for f, out in zip(run.findings, data["findings"], strict=True):
        m = mark(f, history, run)
        out.update(m.as_json() if m else {"new": None, "known_since": None, "open_days": None})
        out["reproduce"] = [s.text for s in steps(f, checks.get(f.check), run, directory) if s.command]
    data["history"] = history_json(history, run, directory)
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"

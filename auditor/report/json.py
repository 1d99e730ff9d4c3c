"""report.json: the run as data (the shape of RunResult.to_dict, plus report fields)."""

from __future__ import annotations

import json

from auditor.results import RunResult

# Bumped when a field is renamed or removed, never when one is added.
SCHEMA_VERSION = 1


def render_json(run: RunResult) -> str:
    """report.json for `run`: run, checks, findings and stats, with the schema version."""
    data = run.to_dict()
    data["schema_version"] = SCHEMA_VERSION
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"

"""The baseline: findings a team has accepted for now, committed next to the code as JSON.

Each entry is a finding's fingerprint (check, kind, site-relative URL, key: the same on a preview
deploy and on production) with its check, kind, severity, URL and message for the people reading
the diff. Entries are sorted and the JSON is indented with one key per line, so updating it
gives a small, reviewable diff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import UsageError
from auditor.results import Finding, RunResult, site_relative

FORMAT = 1
_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class Baseline:
    """The fingerprints a gate treats as known (they are reported, but do not fail it)."""

    entries: tuple[dict[str, str], ...] = ()
    path: Path | None = None
    fingerprints: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprints", frozenset(e["fingerprint"] for e in self.entries))

    @classmethod
    def from_run(cls, run: RunResult) -> Baseline:
        """Every finding of `run`, errors and warnings (so `--fail-on warning` can use it too)."""
        entries = {f.fingerprint: _entry(f, run.base_url) for f in run.findings}
        ordered = sorted(entries.values(), key=lambda e: (e["check"], e["kind"], e["url"], e["fingerprint"]))
        return cls(tuple(ordered))

    def to_json(self, audit: str) -> str:
        data = {"auditor_baseline": FORMAT, "audit": audit, "findings": list(self.entries)}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def write(self, path: Path, audit: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(audit), encoding="utf-8")


def _entry(f: Finding, base_url: str) -> dict[str, str]:
    # Site-relative like the URL, so a baseline made on one preview host reads the same on the next.
    message = " ".join(f.message.replace(base_url.rstrip("/"), "").split())
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    return {
        "fingerprint": f.fingerprint,
        "check": f.check,
        "kind": f.kind,
        "severity": str(f.severity),
        "url": site_relative(f.url, base_url),
        "message": message,
    }


def load(path: Path) -> Baseline:
    """Read a baseline file; a missing or malformed one is a usage error (exit 2) saying what to do."""
    hint = "write one with `auditor baseline update --base-url URL --output FILE`"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"baseline {path} does not exist; {hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read baseline {path}: {e}") from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"baseline {path} is not valid JSON ({e}); {hint}") from None
    if not isinstance(data, dict) or data.get("auditor_baseline") != FORMAT:
        raise UsageError(f"baseline {path} is not an auditor baseline (format {FORMAT}); {hint}")
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise UsageError(f"baseline {path}: `findings` must be a list; {hint}")
    entries = []
    for i, item in enumerate(findings):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("fingerprint"), str)
            or not item["fingerprint"]
        ):
            raise UsageError(f"baseline {path}: findings[{i}] has no fingerprint; {hint}")
        entries.append({str(k): str(v) for k, v in item.items()})
    return Baseline(tuple(entries), path)

"""`auditor gate`: run the gating audit against a preview deploy and turn it into an exit code.

    baseline.py  the committed file of known findings (fingerprints), read and written
    verdict.py   pure: a finished run + baseline + --fail-on -> pass / fail / could not check
    ci.py        what CI shows: console lines, GitHub ::error annotations, $GITHUB_STEP_SUMMARY
    command.py   the flow: pick the audit, internal links only, preflight, database, run, report
    toml.py      a small TOML writer, for `auditor init --demo`

The gate sends no alerts: a red build is the alert, and a preview deploy must never page anyone.
"""

from __future__ import annotations

from auditor.gate.baseline import Baseline
from auditor.gate.verdict import GateVerdict, decide

__all__ = ["Baseline", "GateVerdict", "decide"]

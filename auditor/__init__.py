"""auditor: audits an online shop the way a customer meets it.

This module exports the authoring API only; everything else is internal.
"""

import importlib.metadata as _metadata

from auditor.check import Check, CheckContext
from auditor.registry import register
from auditor.results import CheckResult, Finding, Severity, Status
from auditor.scenarios.spec import scenario

try:
    # The one version is pyproject.toml's; installed metadata carries it (an editable install too).
    __version__ = _metadata.version("auditor")
except _metadata.PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Check",
    "CheckContext",
    "CheckResult",
    "Finding",
    "Severity",
    "Status",
    "__version__",
    "register",
    "scenario",
]

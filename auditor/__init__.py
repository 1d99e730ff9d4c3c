"""auditor: audits an online shop the way a customer meets it.

This module exports the authoring API only; everything else is internal.
"""

from auditor.check import Check, CheckContext
from auditor.registry import register
from auditor.results import CheckResult, Finding, Severity, Status
from auditor.scenarios.spec import scenario

__version__ = "0.1.0"

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

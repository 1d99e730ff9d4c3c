"""auditor: audits an online shop the way a customer meets it.

This module exports the authoring API only; everything else is internal. The names are loaded
on first use (PEP 562), so `import auditor` (and every command's start-up) costs nothing for
the parts a command does not use: `auditor.scenario` pulls in the scenario machinery only when
a scenario file asks for it.
"""

import importlib as _importlib
import importlib.metadata as _metadata
import typing as _typing

if _typing.TYPE_CHECKING:
    from auditor.check import Check, CheckContext
    from auditor.registry import register
    from auditor.results import CheckResult, Finding, Severity, Status
    from auditor.scenarios.spec import scenario

try:
    # The one version is pyproject.toml's; installed metadata carries it (an editable install too).
    __version__ = _metadata.version("auditor")
except _metadata.PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"

# Each public name and the module that defines it.
_LAZY = {
    "Check": "auditor.check",
    "CheckContext": "auditor.check",
    "CheckResult": "auditor.results",
    "Finding": "auditor.results",
    "Severity": "auditor.results",
    "Status": "auditor.results",
    "register": "auditor.registry",
    "scenario": "auditor.scenarios.spec",
}

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


# Hidden from type checkers, which see the imports above (and so still flag a name that is not here).
if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'auditor' has no attribute {name!r}")
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})

"""auditor: audits an online shop the way a customer meets it.

This module exports the authoring API only; everything else is internal. The names are loaded
on first use (PEP 562), so `import auditor` (and every command's start-up) costs nothing for
the parts a command does not use: `auditor.scenario` pulls in the scenario machinery only when
a scenario file asks for it.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from auditor.check import Check, CheckContext
    from auditor.registry import register
    from auditor.results import CheckResult, Finding, Severity, Status
    from auditor.scenarios.spec import scenario

    __version__: str


def _installed_version() -> str:
    """The installed distribution's version: pyproject.toml's, as its metadata carries it (an
    editable install too); "0+unknown" for a source tree on sys.path that was never installed.

    The first `auditor-*.dist-info` (or `.egg-info`) folder on sys.path is the one
    `importlib.metadata.version("auditor")` would read; reading its METADATA here skips
    importing importlib.metadata and the email parser (about 40 ms of every command's start).
    Anything else (a zipped install) goes through importlib.metadata."""
    import sys
    from pathlib import Path

    for entry in sys.path:
        try:
            names = [p.name for p in Path(entry or ".").iterdir()]
        except OSError:
            continue
        for name in names:
            stem, _, suffix = name.rpartition(".")
            if suffix not in ("dist-info", "egg-info") or stem.split("-", 1)[0].lower() != "auditor":
                continue
            meta = Path(entry or ".", name, "METADATA" if suffix == "dist-info" else "PKG-INFO")
            try:
                with meta.open(encoding="utf-8") as f:
                    for line in f:
                        if line.startswith("Version:"):
                            return line.partition(":")[2].strip()
                        if not line.strip():
                            break  # the headers ended without one: ask importlib.metadata
            except OSError:
                pass
            break
    import importlib.metadata

    try:
        return importlib.metadata.version("auditor")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


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
        if name == "__version__":  # read on first use: most commands never print it
            globals()[name] = version = _installed_version()
            return version
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'auditor' has no attribute {name!r}")
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY, "__version__"})

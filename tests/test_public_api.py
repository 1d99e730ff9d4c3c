"""`import auditor` exposes the authoring API and nothing else: everything else may change."""

from __future__ import annotations

import auditor


def test_the_public_surface_is_exactly_the_authoring_api() -> None:
    public = {name for name in dir(auditor) if not name.startswith("_")}
    # Submodules show up as attributes once imported; they are not part of the promise.
    modules = {name for name in public if type(getattr(auditor, name)).__name__ == "module"}
    assert public - modules == set(auditor.__all__) - {"__version__"}
    assert sorted(auditor.__all__) == [
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

"""Check kinds by name. Built-in kinds register exactly like plugins do.

A plugin registers with the `@register` decorator in a module that is imported through the
`auditor.checks` entry-point group of its distribution.

Kinds are loaded lazily: `get("crawl")` imports only the built-in module of that kind (the map is
`auditor.checks.KINDS`); plugins' entry points and the other built-ins are imported only for a
kind that is not a built-in, or by `kinds()`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from auditor.check import Check

_KINDS: dict[str, type[Check[Any]]] = {}
_loaded = False

C = TypeVar("C", bound="type[Check[Any]]")


def register(cls: C) -> C:
    """Class decorator: make a check kind available under `cls.kind`."""
    existing = _KINDS.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"check kind {cls.kind!r} is registered twice: {existing} and {cls}")
    _KINDS[cls.kind] = cls
    return cls


def _load() -> None:
    """Import every built-in kind and every plugin."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from importlib.metadata import entry_points

    from auditor.checks import KINDS

    for module in dict.fromkeys(KINDS.values()):
        importlib.import_module(module)
    for ep in entry_points(group="auditor.checks"):
        ep.load()


def get(kind: str) -> type[Check[Any]] | None:
    """The class registered for `kind`, or None."""
    found = _KINDS.get(kind)
    if found is not None:
        return found
    from auditor.checks import KINDS

    module = KINDS.get(kind)
    if module is not None:
        importlib.import_module(module)
        if kind in _KINDS:
            return _KINDS[kind]
    _load()
    return _KINDS.get(kind)


def kinds() -> list[str]:
    """Every registered kind name, sorted."""
    _load()
    return sorted(_KINDS)

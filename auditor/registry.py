"""Check kinds by name. Built-in kinds register exactly like plugins do.

A plugin registers with the `@register` decorator in a module that is imported through the
`auditor.checks` entry-point group of its distribution.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, TypeVar

from auditor.check import Check

_KINDS: dict[str, type[Check[Any]]] = {}
_loaded = False

C = TypeVar("C", bound=type[Check[Any]])


def register(cls: C) -> C:
    """Class decorator: make a check kind available under `cls.kind`."""
    existing = _KINDS.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"check kind {cls.kind!r} is registered twice: {existing} and {cls}")
    _KINDS[cls.kind] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import auditor.checks  # noqa: F401  (registers the built-in kinds)

    for ep in entry_points(group="auditor.checks"):
        ep.load()


def get(kind: str) -> type[Check[Any]] | None:
    """The class registered for `kind`, or None."""
    _load()
    return _KINDS.get(kind)


def kinds() -> list[str]:
    """Every registered kind name, sorted."""
    _load()
    return sorted(_KINDS)

"""The registry loads a built-in kind by importing only its module (auditor.checks.KINDS)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import auditor.checks
from auditor import registry
from auditor.check import Check


def test_every_built_in_kind_is_in_the_map_under_its_module() -> None:
    # Import every module of auditor.checks: each kind it registers must be mapped to it.
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(auditor.checks.__path__, "auditor.checks."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Check) and value.__module__ == info.name:
                kind = getattr(value, "kind", None)
                if isinstance(kind, str) and registry.get(kind) is value:
                    found[kind] = info.name
    assert found == auditor.checks.KINDS


@pytest.mark.parametrize("kind", sorted(auditor.checks.KINDS))
def test_get_returns_the_class_of_each_built_in_kind(kind: str) -> None:
    cls = registry.get(kind)
    assert cls is not None and cls.kind == kind and cls.__module__ == auditor.checks.KINDS[kind]


def test_an_unknown_kind_is_none_after_plugins_are_loaded() -> None:
    assert registry.get("no-such-kind-ever") is None
    assert set(auditor.checks.KINDS) <= set(registry.kinds())

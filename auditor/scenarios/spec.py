"""`@scenario`: what turns an async function into a named customer journey auditor can run.

The decorator checks the function's parameters at once (when the file is loaded), so a typo in a
fixture name is reported with the scenario, file and line before any browser starts.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import UsageError

# Fixtures a scenario asks for by parameter name, and what each is.
FIXTURES: dict[str, str] = {
    "page": "a Playwright Page in a fresh browser context",
    "context": "that page's BrowserContext (its cookies; `context.request` for plain HTTP)",
    "site": "the site: .base_url, .name, .allow_orders, .url(path), .headers_for(url)",
    "customer": "a fresh dummy customer: .email, .name, .first_name, .password, .id",
    "outputs": "a dict the scenario fills for later checks (order number, payment result...)",
    "step": 'step("Pay") names the part now running; `async with step(...)` bounds it',
    "card": "the test cards: .number (approves), .declined, .expiry, .cvc, .numbers (all, as secrets)",
    "artifacts": "await artifacts.screenshot(name), artifacts.save_text(name, text), .dir",
}

ScenarioFunc = Callable[..., Awaitable[Any]]


class ScenarioLoadError(UsageError):
    """A scenario file could not be loaded, or a scenario is defined wrongly."""


@dataclass(frozen=True)
class ScenarioSpec:
    """A scenario as loaded: its function and what the decorator said about it."""

    name: str
    func: ScenarioFunc = field(repr=False)
    tags: tuple[str, ...] = ()
    places_order: bool = False
    description: str = ""
    file: Path | None = None
    line: int = 0
    fixtures: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """`file.py:12`, for messages."""
        return f"{self.file}:{self.line}" if self.file else f"<{self.func.__module__}>"


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def scenario(
    name: str, *, tags: Iterable[str] = (), places_order: bool = False, description: str = ""
) -> Callable[[ScenarioFunc], ScenarioSpec]:
    """Decorator: make `async def f(page, customer, ...)` the scenario `name`.

    `places_order=True` marks a scenario that submits a payment: it only runs on a site with
    `allow_orders = true`, and is never retried.
    """

    def wrap(func: ScenarioFunc) -> ScenarioSpec:
        code = getattr(func, "__code__", None)
        file = Path(code.co_filename) if code else None
        line = code.co_firstlineno if code else 0
        where = f"{file}:{line}" if file else func.__qualname__
        if not _NAME.match(name):
            raise ScenarioLoadError(
                f"scenario name {name!r} at {where} must be letters, digits, '.', '_' or '-' "
                "(it names a check and a folder)"
            )
        if not inspect.iscoroutinefunction(func):
            raise ScenarioLoadError(f"scenario {name!r} at {where} must be an `async def` function")
        params = inspect.signature(func).parameters
        unknown = [p for p in params if p not in FIXTURES]
        if unknown:
            raise ScenarioLoadError(
                f"scenario {name!r} at {where} asks for unknown fixture(s) {', '.join(map(repr, unknown))}; "
                f"valid parameter names: {', '.join(sorted(FIXTURES))}"
            )
        return ScenarioSpec(
            name=name,
            func=func,
            tags=tuple(tags),
            places_order=places_order,
            description=description or (inspect.getdoc(func) or "").split("\n")[0],
            file=file,
            line=line,
            fixtures=tuple(params),
        )

    return wrap

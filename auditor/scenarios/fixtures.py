"""The fixtures a scenario asks for that are auditor's own: `site`, `step`, `card` and `artifacts`.

(`page`, `context` are Playwright's; `customer` is in customer.py; `outputs` is a plain dict.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from auditor.results import Artifact

if TYPE_CHECKING:
    from auditor.config import SiteConfig

BEFORE_FIRST_STEP = "(before the first step)"


@dataclass(frozen=True)
class Site:
    """The shop a scenario runs against."""

    name: str
    base_url: str
    allow_orders: bool = False
    # The configured headers by host (secrets: never printed).
    host_headers: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, name: str, config: SiteConfig) -> Site:
        headers = {host: dict(hc.headers) for host, hc in config.host_settings().items() if hc.headers}
        return cls(
            name=name, base_url=config.base_url, allow_orders=config.allow_orders, host_headers=headers
        )

    def headers_for(self, url: str) -> dict[str, str]:
        """The headers the config sets for `url`'s host (none for other hosts), for plain HTTP:
        `context.request.get(url, headers=site.headers_for(url))`. The browser's own requests get
        them by themselves; Playwright's API requests do not go through the browser."""
        return dict(self.host_headers.get(urlsplit(url).netloc.lower(), {}))

    def url(self, path: str = "/") -> str:
        """`path` on the site: `site.url("/cart")`. A full URL is returned as it is; a base URL with a
        path (`https://x.test/shop`) keeps it (`/cart` -> `https://x.test/shop/cart`)."""
        if urlsplit(path).scheme:
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass
class StepRecord:
    name: str
    started_at: datetime
    submits_payment: bool = False


class Steps:
    """The `step` fixture: names the part of the scenario now running.

    `step("Add to cart")` marks a step that lasts until the next one; `async with step("Pay"):`
    marks one that ends with its block. Either way the step time limit starts anew.

    `step("Pay", submits_payment=True)` is the moment a payment may be submitted. Before it returns
    (so before the scenario's next line, the pay click), `on_payment` makes a durable mark of it (in
    the run's database, see `auditor.store.marks`); if that fails, the step raises and nothing is
    paid. A check with a mark is never run again, and the payment check reads the ledger for it.
    """

    def __init__(
        self,
        default_timeout_s: float,
        on_start: Callable[[StepRecord, float], None],
        on_end: Callable[[], None],
        on_payment: Callable[[StepRecord], None] | None = None,
    ) -> None:
        self.default_timeout_s = default_timeout_s
        self.current = BEFORE_FIRST_STEP
        self.records: list[StepRecord] = []
        self.payment_submitted_at: datetime | None = None
        self._on_start = on_start
        self._on_end = on_end
        self._on_payment = on_payment

    def __call__(
        self, name: str, *, submits_payment: bool = False, timeout_s: float | None = None
    ) -> StepBlock:
        record = StepRecord(name=name, started_at=datetime.now(UTC), submits_payment=submits_payment)
        self.records.append(record)
        self.current = name
        if submits_payment:
            if self._on_payment is not None:
                self._on_payment(record)
            if self.payment_submitted_at is None:
                self.payment_submitted_at = record.started_at
        self._on_start(record, timeout_s or self.default_timeout_s)
        return StepBlock(self, record)


class StepBlock:
    """What `step(...)` returns: ignore it, or use it as `async with` to end the step with the block."""

    def __init__(self, steps: Steps, record: StepRecord) -> None:
        self._steps = steps
        self.record = record

    async def __aenter__(self) -> StepRecord:
        return self.record

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A failure inside the block keeps the step as the current one, so it is named in the finding.
        if exc_type is None and self._steps.current == self.record.name:
            self._steps._on_end()


# The test cards most gateways' sandboxes know (Stripe's, and the demo shop's): one approves, one declines.
APPROVES, DECLINES = "4242 4242 4242 4242", "4000 0000 0000 0002"


@dataclass(frozen=True)
class Card:
    """The `card` fixture: the test card numbers a scenario types, so that auditor knows them.

    `card.number` approves and `card.declined` is declined (with `card.expiry` and `card.cvc`).
    `card.numbers` is every number as typed and as bare digits: the secrets that evidence (traces,
    saved pages, request logs) is scrubbed of.
    """

    number: str = APPROVES
    declined: str = DECLINES
    expiry: str = "12/30"
    cvc: str = "123"

    @property
    def numbers(self) -> tuple[str, ...]:
        typed = (self.number, self.declined)
        digits = tuple("".join(ch for ch in n if ch.isdigit()) for n in typed)
        return tuple(dict.fromkeys(typed + digits))

    @staticmethod
    def last4(number: str) -> str:
        """The last four digits of `number`: all a report may show of it."""
        return "".join(ch for ch in number if ch.isdigit())[-4:]


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Artifacts:
    """The `artifacts` fixture: files the scenario keeps, linked from report.html."""

    dir: Path
    page: Any = None
    saved: list[Artifact] = field(default_factory=list)

    def _path(self, name: str, suffix: str = "") -> Path:
        clean = _UNSAFE.sub("-", name).strip("-.") or "artifact"
        if suffix and not clean.endswith(suffix):
            clean += suffix
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir / clean

    def add(self, name: str, path: Path, kind: str) -> Path:
        """List a file already written into `dir`."""
        if all(a.path != path for a in self.saved):
            self.saved.append(Artifact(name=name, path=path, kind=kind))
        return path

    async def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """A screenshot of the page now, as `<name>.png`."""
        path = self._path(name, ".png")
        await self.page.screenshot(path=str(path), full_page=full_page)
        return self.add(path.name, path, "screenshot")

    def save_text(self, name: str, text: str) -> Path:
        """`text` as the file `name` (give it an extension: `prices.txt`, `cart.json`)."""
        path = self._path(name)
        path.write_text(text, encoding="utf-8")
        return self.add(path.name, path, "text")

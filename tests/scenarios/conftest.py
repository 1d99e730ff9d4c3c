"""Scenario fixtures: one Chromium per module, the real demo shop, and a tiny loopback site.

Tests here drive a real browser, so expensive things are shared per module: the browser
(launching one takes about a second) and a healthy demo shop. Shops with faults are started per
test, which costs milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from auditor.browser.launch import SharedBrowser
from auditor.config import SiteConfig
from auditor.demo import DemoShop, parse_faults
from auditor.scenarios import (
    Customer,
    ScenarioOptions,
    ScenarioOutcome,
    ScenarioSpec,
    bundled_dir,
    load_dirs,
    new_customer,
    run_scenario,
)

BUNDLED = load_dirs([bundled_dir()])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    shared = SharedBrowser()
    try:
        yield await shared.get()
    finally:
        await shared.close()


@pytest.fixture(scope="module")
def healthy_shop() -> Iterator[DemoShop]:
    with DemoShop(faults=parse_faults([], environ={})) as shop:
        yield shop


@pytest.fixture
def start_shop() -> Iterator[Callable[..., DemoShop]]:
    """start_shop("checkout-error", ...) -> a running demo shop with those faults, stopped after the test."""
    shops: list[DemoShop] = []

    def start(*faults: str) -> DemoShop:
        shop = DemoShop(faults=parse_faults(list(faults), environ={})).start()
        shops.append(shop)
        return shop

    yield start
    for shop in shops:
        shop.stop()


RunScenario = Callable[..., Any]


@pytest.fixture
def run(browser: Any, tmp_path: Path) -> RunScenario:
    """await run(spec_or_name, base_url, allow_orders=True, customer=None, site=None, **options).

    `site` holds more SiteConfig keys (headers, cookies); `options` are ScenarioOptions.
    """

    async def go(
        spec: ScenarioSpec | str,
        base_url: str,
        *,
        allow_orders: bool = True,
        customer: Customer | None = None,
        site: dict[str, Any] | None = None,
        **options: Any,
    ) -> ScenarioOutcome:
        spec = BUNDLED[spec] if isinstance(spec, str) else spec
        customer = customer or new_customer(
            "audit+{id}@example.com", "Ada Auditor", run_id="t1", scenario=spec.name
        )
        return await run_scenario(
            spec,
            browser=browser,
            site=SiteConfig(base_url=base_url, allow_orders=allow_orders, **(site or {})),
            customer=customer,
            options=ScenarioOptions(scenario=spec.name, **options),
            artifact_dir=tmp_path / "artifacts",
            run_id="t1",
        )

    return go


Route = tuple[int, str, str]  # status, content type, body


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Route] = {}
    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers.items())))
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", "not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class TinySite:
    """A loopback site whose pages a test sets: {path: (status, content type, body)}."""

    base_url: str
    routes: dict[str, Route]
    seen: list[tuple[str, dict[str, str]]]  # (path, request headers) of every request


@pytest.fixture(scope="module")
def tiny_site() -> Iterator[TinySite]:
    routes: dict[str, Route] = {}
    seen: list[tuple[str, dict[str, str]]] = []
    handler = type("Handler", (_Handler,), {"routes": routes, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield TinySite(f"http://127.0.0.1:{server.server_address[1]}", routes, seen)
    server.shutdown()
    server.server_close()

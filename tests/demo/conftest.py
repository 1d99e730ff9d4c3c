"""Demo shop fixtures: running shops on loopback, stopped after each test, all sending their
email to one real SMTP server on loopback for the session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from auditor.demo import DemoShop, parse_faults
from tests.demo.inbox import Inbox, LoopbackSMTP
from tests.demo.shopper import StartShop


@pytest.fixture(scope="session")
def inbox() -> Iterator[Inbox]:
    """Every email the demo shops send (tests tell theirs apart by a unique recipient)."""
    handler = Inbox()
    controller = LoopbackSMTP(handler)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def start_shop(inbox: Inbox) -> Iterator[StartShop]:
    """start_shop("dead-link", ...) -> a running DemoShop with those faults, stopped after the test."""
    shops: list[DemoShop] = []

    def start(*faults: str) -> DemoShop:
        shop = DemoShop(faults=parse_faults(list(faults), environ={}), smtp_port=inbox.port).start()
        shops.append(shop)
        return shop

    yield start
    for shop in shops:
        shop.stop()


@pytest.fixture
def shop(start_shop: StartShop) -> DemoShop:
    """A healthy demo shop."""
    return start_shop()


@pytest.fixture
def client(shop: DemoShop) -> Iterator[httpx.Client]:
    """An HTTP client for the healthy shop, keeping its cookies like a browser."""
    with httpx.Client(base_url=shop.base_url) as c:
        yield c

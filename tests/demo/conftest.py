"""Demo shop fixtures: running shops on loopback, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from auditor.demo import DemoShop, parse_faults
from tests.demo.shopper import StartShop


@pytest.fixture
def start_shop() -> Iterator[StartShop]:
    """start_shop("dead-link", ...) -> a running DemoShop with those faults, stopped after the test."""
    shops: list[DemoShop] = []

    def start(*faults: str) -> DemoShop:
        shop = DemoShop(faults=parse_faults(list(faults), environ={})).start()
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

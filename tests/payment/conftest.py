"""Payment check fixtures: real demo shops, one per set of faults, shared by the test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auditor.demo import DemoShop, parse_faults
from tests.flows import shared_browser  # noqa: F401
from tests.payment.buyer import Shops


@pytest.fixture(scope="module")
def shops() -> Iterator[Shops]:
    running: dict[tuple[str, ...], DemoShop] = {}

    def get(*faults: str) -> DemoShop:
        key = tuple(sorted(faults))
        if key not in running:
            running[key] = DemoShop(faults=parse_faults(list(faults), environ={})).start()
        return running[key]

    yield get
    for shop in running.values():
        shop.stop()

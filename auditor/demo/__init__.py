"""The bundled demo shop: a small realistic shop with switchable faults, for demos and tests.

from auditor.demo import DemoShop, parse_faults

with DemoShop(faults=parse_faults(["dead-link"])) as shop:
    print(shop.base_url)
"""

from __future__ import annotations

from auditor.demo.app import create_app
from auditor.demo.faults import Faults, parse_faults
from auditor.demo.server import DemoShop, serve

__all__ = ["DemoShop", "Faults", "create_app", "parse_faults", "serve"]

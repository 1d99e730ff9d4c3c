"""Login and delivery fixtures: one SMTP sink and one results database per module, and demo shops
sending to it (the account email must exist for credentials = "email").

The runner reads the sink's mail because the run records into the same database (`recorder=store`),
as `auditor run` does with a configured database. Every run has its own customer, so tests sharing
the sink and a shop stay independent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor import config
from auditor.demo import DemoShop, parse_faults
from auditor.mail import MailSink
from auditor.results import RunResult
from auditor.runner import RunOptions, run_audit
from auditor.store import Store

Shops = Callable[..., DemoShop]
Audit = Callable[..., Any]
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path_factory.mktemp('login') / 'auditor.db'}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def sink(store: Store) -> Iterator[MailSink]:
    with MailSink(store, port=0) as running:
        yield running


@pytest.fixture(scope="module")
def shops(sink: MailSink) -> Iterator[Shops]:
    """shops("login-broken", ...) -> a running demo shop with those faults, mailing the sink."""
    running: dict[tuple[str, ...], DemoShop] = {}

    def get(*faults: str) -> DemoShop:
        key = tuple(sorted(faults))
        if key not in running:
            shop = DemoShop(faults=parse_faults(list(faults), environ={}), smtp_port=sink.port)
            running[key] = shop.start()
        return running[key]

    yield get
    for shop in running.values():
        shop.stop()


@pytest.fixture
def audit(store: Store, sink: MailSink, tmp_path: Path) -> Audit:
    """await audit(shop, {check name: check config}, ["checks", "to", "run"]) -> RunResult.

    The config lives in this folder, so a scenario path "scenarios" is tests/checks_login/scenarios.
    """

    async def go(shop: DemoShop, checks: dict[str, dict[str, Any]], run: list[str]) -> RunResult:
        settings = config.from_dict(
            {
                "report_dir": str(tmp_path / "reports"),
                "sites": {
                    "demo": {
                        "base_url": shop.base_url,
                        "allow_orders": True,
                        "mailbox": {"kind": "sink", "port": sink.port},
                    }
                },
                "checks": checks,
                "audits": {"a": {"checks": run}},
            },
            environ={},
            source=HERE / "auditor.toml",
        )
        return await run_audit(settings, "a", RunOptions(recorder=store, write_reports=False))

    return go

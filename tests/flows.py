"""Fixtures for tests of checks that follow a purchase: one results database and one SMTP sink per
test module, demo shops mailing that sink, and `audit` to run checks through the real runner.

The runner reads the sink's mail because the run records into the same database (`recorder=store`),
exactly as `auditor run` does with a configured database. Every run has its own customer address,
so tests sharing the sink and a shop stay independent. A test folder uses them from its conftest:

    from tests.flows import audit, config_dir, shared_browser, shops, sink, store  # noqa: F401

and may override `config_dir` (the folder relative scenario `paths` are read from).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from auditor import config
from auditor.browser.launch import SharedBrowser
from auditor.demo import DemoShop, parse_faults
from auditor.mail import MailSink
from auditor.results import RunResult
from auditor.runner import RunOptions, run_audit
from auditor.store import Store

Shops = Callable[..., DemoShop]
Audit = Callable[..., Any]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path_factory.mktemp('flows') / 'auditor.db'}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def sink(store: Store) -> Iterator[MailSink]:
    with MailSink(store, port=0) as running:
        yield running


@pytest.fixture(scope="module")
def shops(sink: MailSink) -> Iterator[Shops]:
    """shops("no-email", ...) -> a running demo shop with those faults mailing the sink (one per set)."""
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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_browser() -> AsyncIterator[SharedBrowser]:
    """One Chromium for the module's runs, as a queue worker keeps one across its runs: each run
    still gets its own contexts, and a launch costs more than many a check (the module's tests run
    on the module's event loop: `pytest.mark.asyncio(loop_scope="module")`)."""
    browser = SharedBrowser()
    try:
        yield browser
    finally:
        await browser.close()


@pytest.fixture
def config_dir() -> Path | None:
    """Where the test config "lives" (relative scenario paths start there); None: the CWD."""
    return None


@pytest.fixture
def audit(
    store: Store, sink: MailSink, tmp_path: Path, config_dir: Path | None, shared_browser: SharedBrowser
) -> Audit:
    """await audit(shop, {check name: check config}, ["checks", "to", "run"], **site keys) -> RunResult."""

    async def go(shop: DemoShop, checks: dict[str, dict[str, Any]], run: list[str], **site: Any) -> RunResult:
        settings = config.from_dict(
            {
                "report_dir": str(tmp_path / "reports"),
                "sites": {
                    "demo": {
                        "base_url": shop.base_url,
                        "allow_orders": True,
                        "mailbox": {"kind": "sink", "port": sink.port},
                        **site,
                    }
                },
                "checks": checks,
                "audits": {"a": {"checks": run}},
            },
            environ={},
            source=config_dir / "auditor.toml" if config_dir else None,
        )
        return await run_audit(
            settings, "a", RunOptions(recorder=store, write_reports=False, browser=shared_browser)
        )

    return go

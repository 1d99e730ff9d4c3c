"""End to end: the real runner audits the demo shop, and the loopback webhook hears about the dead link
once, then about its fix, though the fixed shop runs on another port (fingerprints ignore the host)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from auditor import config as config_mod
from auditor.alerts import AlertsConfig, process_run
from auditor.demo import DemoShop, parse_faults
from auditor.results import RunResult
from auditor.runner import RunOptions, run_audit
from auditor.store import IncidentStatus, Store
from tests.alerts.receivers import Webhook


def audit(shop: DemoShop, store: Store, report_dir: Path) -> RunResult:
    data: dict[str, Any] = {
        "sites": {"demo": {"base_url": shop.base_url, "allow_orders": False}},
        "checks": {"links": {"kind": "crawl", "external": False, "timeout_s": 120}},
        "audits": {"nightly": {"checks": ["links"]}},
    }
    settings = config_mod.from_dict(data, environ={})
    opts = RunOptions(trigger="schedule", report_dir=report_dir, recorder=store)
    return asyncio.run(run_audit(settings, "nightly", opts))


def test_a_dead_link_on_the_demo_shop_is_announced_once_then_resolved(
    store: Store, webhook: Webhook, tmp_path: Path
) -> None:
    alerts = AlertsConfig.model_validate({"channels": {"ops": {"url": webhook.url("/ops")}}})
    with DemoShop(faults=parse_faults(["dead-link"], environ={})) as broken:
        for n in (1, 2):
            run = audit(broken, store, tmp_path / f"run{n}")
            process_run(store, run, alerts)
    [new] = webhook.received
    assert new.body["title"] == "[auditor] nightly: 1 new failure on demo"
    assert "broken_link in check 'links' (error)" in new.body["message"]
    assert "/shipping-policy" in new.body["message"]
    assert f"Report: {tmp_path / 'run1' / 'report.html'}" in new.body["message"]
    assert (tmp_path / "run1" / "report.html").is_file()
    [incident] = store.list_incidents()
    assert incident.consecutive_failures == 2

    with DemoShop() as fixed:
        run = audit(fixed, store, tmp_path / "run3")
        [sent] = process_run(store, run, alerts)
    assert (sent.event, sent.ok) == ("resolved", True)
    assert webhook.received[1].body["title"] == "[auditor] nightly: 1 failure resolved on demo"
    assert store.list_incidents() == []
    assert [i.status for i in store.list_incidents(statuses=list(IncidentStatus))] == [
        IncidentStatus.RESOLVED
    ]

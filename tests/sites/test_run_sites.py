"""`auditor run` of a template audit against the demo shop under two site names: one run per site,
--site and --tag pick shops, alerts go to each site's client's channel (real loopback webhook),
incidents are kept per site."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.demo import DemoShop, parse_faults
from auditor.store import Store
from tests.alerts.receivers import Webhook


def auditor_run(cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", "--config", "auditor.toml", "run", "nightly", "-q", *flags],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={**env, "CI": "true"},
    )


@pytest.fixture(scope="module")
def shop() -> object:
    with DemoShop(faults=parse_faults(["dead-link"], environ={})) as s:
        yield s


def test_a_template_audit_runs_per_site_and_alerts_each_client_apart(
    shop: DemoShop, webhook: Webhook, tmp_path: Path
) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "auditor.toml").write_text(
        f"""
database_url = "sqlite:///auditor.db"
include = ["sites/*.toml"]
[checks.links]
kind = "crawl"
external = false
[audits.nightly]
checks = ["links"]
sites = "*"
[clients.acme]
channels = ["acme-hook"]
[alerts.channels.acme-hook]
url = "json://127.0.0.1:{webhook.port}/acme"
[alerts.channels.agency]
url = "json://127.0.0.1:{webhook.port}/agency"
""",
        encoding="utf-8",
    )
    (tmp_path / "sites" / "a.toml").write_text(
        f"""
[sites.shop-a]
base_url = "{shop.base_url}"
client = "acme"
tags = ["woocommerce"]
[sites.shop-a.overrides.links]
max_pages = 500
""",
        encoding="utf-8",
    )
    (tmp_path / "sites" / "b.toml").write_text(
        f'[sites.shop-b]\nbase_url = "{shop.base_url}"\ntags = ["shopify"]\n', encoding="utf-8"
    )
    both = auditor_run(tmp_path)
    assert both.returncode == 1, both.stdout + both.stderr
    got = sorted((r.path, r.body["title"]) for r in webhook.received)
    assert got == [
        ("/acme", "[auditor] nightly: 1 new failure on shop-a"),
        ("/agency", "[auditor] nightly: 1 new failure on shop-b"),
    ]
    webhook.received.clear()

    only_b = auditor_run(tmp_path, "--site", "shop-b")
    assert only_b.returncode == 1, only_b.stdout + only_b.stderr
    by_tag = auditor_run(tmp_path, "--tag", "woocommerce")
    assert by_tag.returncode == 1, by_tag.stdout + by_tag.stderr
    assert webhook.received == []  # the same incidents: nothing new to say

    unknown = auditor_run(tmp_path, "--site", "nope")
    assert unknown.returncode == 2 and "shop-a, shop-b" in unknown.stderr
    no_tag = auditor_run(tmp_path, "--tag", "magento")
    assert no_tag.returncode == 4, no_tag.stdout + no_tag.stderr

    store = Store.open(f"sqlite:///{tmp_path / 'auditor.db'}")
    try:
        runs = store.recent_runs(limit=10)
        assert sorted(r.site for r in runs) == ["shop-a", "shop-a", "shop-b", "shop-b"]
        incidents = store.list_incidents()
        assert sorted((i.site, i.consecutive_failures) for i in incidents) == [("shop-a", 2), ("shop-b", 2)]
        channels = sorted((n.channel, n.audit) for n in store.notifications())
        assert channels == [("acme-hook", "nightly"), ("agency", "nightly")]
    finally:
        store.close()

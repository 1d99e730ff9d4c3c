"""`auditor run` against the demo shop, with alerts heard by a loopback webhook: the whole path a
user configures, through the command line, the config file and the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import config as config_mod
from auditor.demo import DemoShop, parse_faults
from auditor.store import Store
from tests.alerts.receivers import Webhook

if "alerts" not in config_mod.SettingsModel.model_fields:
    pytest.skip("the [alerts] section is not wired into auditor.toml yet", allow_module_level=True)


def auditor_run(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", "--config", "auditor.toml", "run", "nightly", "-q"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**env, "HOOK_PATH": "/ops", "CI": "true"},
    )


def test_auditor_run_announces_a_dead_link_once_to_the_webhook(webhook: Webhook, tmp_path: Path) -> None:
    with DemoShop(faults=parse_faults(["dead-link"], environ={})) as shop:
        (tmp_path / "auditor.toml").write_text(
            f"""
            database_url = "sqlite:///auditor.db"
            [sites.demo]
            base_url = "{shop.base_url}"
            [checks.links]
            kind = "crawl"
            external = false
            [audits.nightly]
            checks = ["links"]
            [alerts.channels.ops]
            url = "json://127.0.0.1:{webhook.port}${{HOOK_PATH}}"
            """.replace("\n            ", "\n"),
            encoding="utf-8",
        )
        first = auditor_run(tmp_path)
        second = auditor_run(tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    assert second.returncode == 1, second.stdout + second.stderr
    [got] = webhook.received
    assert got.path == "/ops"
    assert got.body["title"] == "[auditor] nightly: 1 new failure on demo"
    assert "/shipping-policy" in got.body["message"] and "Report: " in got.body["message"]
    store = Store.open(f"sqlite:///{tmp_path / 'auditor.db'}")
    try:
        [incident] = store.list_incidents()
        assert incident.consecutive_failures == 2
        assert [(n.channel, n.event, n.ok) for n in store.notifications()] == [("ops", "new", True)]
    finally:
        store.close()

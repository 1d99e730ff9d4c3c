"""POST /api/v1/sites/{site}/runs: an admin's token starts a real audit of the demo shop, in the
server's own worker pool (no [queue] configured), and the API shows it run to its end."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from auditor.config import load
from auditor.demo import DemoShop
from auditor.store import Store
from auditor.web import auth


def test_an_admin_starts_a_run_and_watches_it_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.web.app import create_app

    for key in [k for k in os.environ if k.startswith("AUDITOR_")]:
        monkeypatch.delenv(key)
    with DemoShop() as shop:
        config = tmp_path / "auditor.toml"
        config.write_text(
            f"""
database_url = "sqlite:///{tmp_path / "auditor.db"}"
report_dir = "{tmp_path / "reports"}"
[sites.demo]
base_url = "{shop.base_url}"
[checks.links]
kind = "crawl"
external = false
[audits.nightly]
site = "demo"
checks = ["links"]
""",
            encoding="utf-8",
        )
        settings = load(config)
        store = Store.open(settings.database_url())
        try:
            auth.add_user(store.engine, "ada", "correct horse battery 9", "admin", None)
            token = auth.add_token(store.engine, "ci", "ada")
        finally:
            store.close()
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
            r = client.post("/api/v1/sites/demo/runs", headers=headers, json={})
            assert r.status_code == 202, r.text
            started = r.json()
            assert started["queued"] is False and started["run_id"]
            assert (
                client.post("/api/v1/sites/demo/runs", headers=headers, json={"audit": "weekly"}).status_code
                == 400
            )
            deadline = time.monotonic() + 120
            while True:
                got = client.get(f"/api/v1/runs/{started['run_id']}", headers=headers)
                if got.status_code == 200 and got.json()["status"] not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline, got.text
                time.sleep(0.3)
    run = got.json()
    assert run["status"] == "pass", run
    assert run["site"] == "demo" and run["audit"] == "nightly"
    assert [c["name"] for c in run["checks"]] == ["links"]

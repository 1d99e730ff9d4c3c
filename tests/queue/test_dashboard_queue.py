"""The dashboard's "run now" with a [queue]: the run is queued for the workers (a real broker), on
the site asked for (a template audit's second site too); a broker that is down is a 503 in our
words and queues nothing."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from auditor.config import load
from auditor.queue.state import QueueState
from auditor.store import Store
from auditor.web import auth
from tests.queue.conftest import PrivateRedis
from tests.queue.test_enqueue import drain


def _config(tmp_path: Path, broker_url: str, queue_name: str) -> Path:
    config = tmp_path / "auditor.toml"
    config.write_text(
        f"""
database_url = "sqlite:///{tmp_path / "auditor.db"}"
report_dir = "{tmp_path / "reports"}"
[sites.shop-a]
base_url = "http://127.0.0.1:9/a/"
tags = ["woo"]
[sites.shop-b]
base_url = "http://127.0.0.1:9/b/"
tags = ["woo"]
[checks.links]
kind = "crawl"
[audits.nightly]
sites = {{ tag = "woo" }}
checks = ["links"]
[queue]
broker_url = "{broker_url}"
queue_name = "{queue_name}"
""",
        encoding="utf-8",
    )
    return config


def _token(settings_url: str) -> str:
    store = Store.open(settings_url)
    try:
        auth.add_user(store.engine, "ada", "correct horse battery 9", "admin", None)
        return auth.add_token(store.engine, "ci", "ada")
    finally:
        store.close()


def test_run_now_queues_the_run_for_the_workers(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.web.app import create_app

    monkeypatch.delenv("AUDITOR_DATABASE_URL", raising=False)
    name = f"auditor-test-{secrets.token_hex(4)}"
    settings = load(_config(tmp_path, redis_url, name))
    headers = {"Authorization": f"Bearer {_token(settings.database_url())}"}
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        r = client.post("/api/v1/sites/shop-b/runs", headers=headers, json={})
        assert r.status_code == 202, r.text
        started = r.json()
        assert started["queued"] is True and "queued as run" in started["message"]
        got = client.get(f"/api/v1/runs/{started['run_id']}", headers=headers)
        assert got.status_code == 200 and got.json()["status"] == "queued"
    [(_, kwargs)] = drain(redis_url, name)
    assert (kwargs["run_id"], kwargs["audit"], kwargs["site"], kwargs["trigger"]) == (
        started["run_id"],
        "nightly",
        "shop-b",
        "dashboard",
    )


def test_run_now_with_the_broker_down_is_a_503_and_queues_nothing(
    tmp_path: Path, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.web.app import create_app

    monkeypatch.delenv("AUDITOR_DATABASE_URL", raising=False)
    settings = load(_config(tmp_path, private_redis.url, "auditor"))
    headers = {"Authorization": f"Bearer {_token(settings.database_url())}"}
    private_redis.stop()
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        r = client.post("/api/v1/sites/shop-a/runs", headers=headers, json={})
    assert r.status_code == 503, r.text
    assert "nothing was queued" in r.text
    store = Store.open(settings.database_url())
    try:
        assert QueueState(store).queued_runs() == []
    finally:
        store.close()

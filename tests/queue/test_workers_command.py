"""`auditor workers` against a real store (SQLite and PostgreSQL) written through QueueState."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from auditor.cli import main
from auditor.queue.state import QueueState
from auditor.store import Store
from auditor.store.queue_models import WorkerRow


def workers(store: Store, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    assert (
        main(["workers", "--database-url", store.url, "--config", "/nonexistent/auditor.toml", *flags]) == 0
    )
    return capsys.readouterr().out


def test_live_workers_and_what_they_run(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no worker has beaten in the last 30 s" in workers(store, capsys)
    q = QueueState(store)
    q.record_queued("r-1", audit="nightly", site="shop-a", base_url="http://127.0.0.1:9/", trigger="schedule")
    q.worker_beat("auditor@h/11", state="running", run_id="r-1", audit="nightly", site="shop-a")
    q.worker_beat("auditor@h/12", state="idle")
    q.worker_beat("auditor@h/old", state="idle")
    q.worker_beat("auditor@h/done", state="idle")
    q.worker_stopped("auditor@h/done")
    with store.engine.begin() as c:
        c.execute(
            update(WorkerRow)
            .where(WorkerRow.name == "auditor@h/old")
            .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    out = workers(store, capsys)
    lines = out.splitlines()
    assert lines[0].split() == ["WORKER", "STATE", "SINCE", "LAST", "SEEN", "RUNNING"]
    assert [line.split()[0] for line in lines[1:]] == ["auditor@h/11", "auditor@h/12"]
    assert lines[1].endswith("nightly on shop-a (run r-1)") and lines[2].endswith("-")
    every = workers(store, capsys, "--all")
    assert [line.split()[0] for line in every.splitlines()[1:]] == [
        "auditor@h/11",
        "auditor@h/12",
        "auditor@h/done",
        "auditor@h/old",
    ]
    assert "5m ago" in every
    rows = json.loads(workers(store, capsys, "--all", "--json"))
    live = {r["name"]: r["live"] for r in rows}
    assert live == {
        "auditor@h/11": True,
        "auditor@h/12": True,
        "auditor@h/done": False,
        "auditor@h/old": False,
    }
    running = next(r for r in rows if r["name"] == "auditor@h/11")
    assert (running["run_id"], running["audit"], running["site"], running["state"]) == (
        "r-1",
        "nightly",
        "shop-a",
        "running",
    )

"""The queue's front doors as a user meets them: `auditor run --queue [--wait]`, `auditor runs` with
queued, running and finished runs and the worker of each, `auditor worker --health-port` (health
and the run metrics of every child process), and the usage errors around them. Real Redis, real
PostgreSQL, real `auditor worker` processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.queue.enqueue import enqueue
from auditor.queue.state import QueueState
from auditor.results import RunStatus
from tests.queue.cluster import SlowSite, wait_for
from tests.queue.conftest import free_port
from tests.queue.test_enqueue import drain

SITE = """
[sites.shop]
base_url = "{url}"
[checks.links]
kind = "crawl"
external = false
[audits.nightly]
site = "shop"
checks = ["links"]
"""


def auditor(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_run_queue_prints_the_run_id_and_runs_lists_it_waiting_then_run_by_its_worker(cluster: Any) -> None:
    port = free_port()
    site = SlowSite(pages=3, delay_s=0.05)
    try:
        cluster.configure(SITE.format(url=site.url))
        queued = auditor("run", "nightly", "--queue", config=cluster.config)
        assert queued.returncode == 0, queued.stderr
        run_id = queued.stdout.strip()
        assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run_id), queued.stdout
        assert f"queued audit 'nightly' for site shop as run {run_id}" in queued.stderr
        assert cluster.status(run_id) == "queued"

        listed = auditor("runs", config=cluster.config)
        assert listed.returncode == 0, listed.stderr
        header, row = listed.stdout.splitlines()[:2]
        assert header.split()[-2:] == ["WAITED", "WORKER"], listed.stdout
        assert row.split()[:5] == [run_id, "nightly", "shop", "queued", "-"], listed.stdout
        assert "waiting" in row

        # A worker takes it; --wait on a second run waits for its end and exits as a run here does.
        worker = cluster.start(1, "--health-port", str(port))
        waited = auditor("run", "nightly", "--queue", "--wait", config=cluster.config)
        assert waited.returncode == 0, waited.stderr + cluster.logs()
        second = waited.stdout.strip()
        assert f"run {second}: pass" in waited.stderr
        wait_for("the first run", lambda: cluster.status(run_id) == "pass", logs=cluster.logs)

        listed = auditor("runs", config=cluster.config)
        lines = listed.stdout.splitlines()
        rows = {line.split()[0]: line.split() for line in lines[1:3]}
        for rid in (run_id, second):
            assert rows[rid][3] == "pass", listed.stdout
            assert rows[rid][-1].startswith("auditor@"), listed.stdout

        # The worker's health port: alive, and /metrics adds up its child's counters.
        health = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{health}/healthz", timeout=5) as r:
            assert r.status == 200
        with urllib.request.urlopen(f"{health}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert 'auditor_runs_finished_total{audit="nightly",site="shop",status="pass"} 2.0' in metrics
        assert 'auditor_runs_started_total{audit="nightly",site="shop"} 2.0' in metrics
        assert re.search(r'auditor_queue_wait_seconds_count\{audit="nightly"\} 2\.0', metrics), metrics
        worker.stop()
        assert worker.proc.returncode == 0, cluster.logs()
        assert drain(cluster.settings.model.queue.resolved_broker_url(), cluster.queue) == []
    finally:
        site.close()


def test_run_queue_wait_exits_1_for_a_run_that_failed(cluster: Any, tmp_path: Path) -> None:
    site = SlowSite(pages=2, delay_s=0.0)
    try:
        site.dead = "/gone"  # the last page links to a page the site does not have
        cluster.configure(SITE.format(url=site.url))
        cluster.start()
        done = auditor("run", "nightly", "--queue", "--wait", "--quiet", config=cluster.config)
        assert done.returncode == 1, done.stderr + cluster.logs()
        run_id = done.stdout.strip()
        assert done.stderr == ""
        run = cluster.store.load_run(run_id)
        assert run is not None and any(f.kind == "broken_link" for f in run.findings), run
    finally:
        site.close()


def test_the_queue_flags_say_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "auditor.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "a.db"}"\n' + SITE.format(url="http://127.0.0.1:9/"),
        encoding="utf-8",
    )
    assert main(["run", "nightly", "--queue", "--config", str(config)]) == 2
    assert "the config has no [queue] section" in capsys.readouterr().err
    assert main(["run", "nightly", "--wait", "--config", str(config)]) == 2
    assert "--wait goes with --queue" in capsys.readouterr().err
    assert main(["worker", "--config", str(config)]) == 2
    assert "has no [queue] section" in capsys.readouterr().err
    with config.open("a", encoding="utf-8") as f:
        f.write('\n[queue]\nbroker_url = "redis://127.0.0.1:9/0"\n')
    assert main(["run", "nightly", "--queue", "--check", "links", "--config", str(config)]) == 2
    assert "--check change a run made here" in capsys.readouterr().err
    # A broker that is not there: a clear error (exit 3), and nothing is left queued.
    assert main(["run", "nightly", "--queue", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "did not take the task" in err and "nothing was queued" in err
    from auditor.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert store.recent_runs() == [] and QueueState(store).queued_runs() == []
    finally:
        store.close()


def test_a_run_the_workers_config_no_longer_knows_ends_error_with_the_reason(cluster: Any) -> None:
    """The config is read again before each task: an audit removed from it after its run was
    queued is recorded `error` saying so (never left queued or running), and the worker goes on."""
    site = SlowSite(pages=1, delay_s=0.0)
    try:
        settings = cluster.configure(SITE.format(url=site.url))
        run_id = enqueue(settings, cluster.store, audit="nightly", trigger="test")
        cluster.configure(SITE.format(url=site.url).replace("[audits.nightly]", "[audits.weekly]"))
        cluster.start()
        wait_for("the run recorded", lambda: cluster.status(run_id) == "error", logs=cluster.logs)
        run = cluster.store.load_run(run_id)
        assert run is not None and run.finished_at is not None
        assert run.report_dir is not None
        report = json.loads((Path(run.report_dir) / "report.json").read_text(encoding="utf-8"))
        assert any("no audit named 'nightly'" in e for e in report["run"]["internal_errors"]), report
        assert "no audit named 'nightly'" in cluster.logs()
        # `--wait` on it: "could not check" (3), though no check failed and the store has no reason.
        from auditor.cli import _wait_for_runs

        assert cluster.store.run_statuses([run_id, "no-such-run"]) == {run_id: RunStatus.ERROR}
        assert _wait_for_runs(cluster.store, [run_id], quiet=True) == 3
        nxt = enqueue(cluster.settings, cluster.store, audit="weekly", trigger="test")
        wait_for("the next run", lambda: cluster.status(nxt) == "pass", logs=cluster.logs)
    finally:
        site.close()

"""Runs never overlap, a stop lets runs finish within the limit, and a dead run is marked at start."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from auditor.errors import NothingMatched
from auditor.results import RunResult, RunStatus
from auditor.scheduler.catchup import plan_catch_up
from auditor.scheduler.cron import cron_trigger
from auditor.scheduler.heartbeat import Heartbeat
from auditor.scheduler.service import AuditScheduler, run_scheduler
from auditor.store import Store
from auditor.store.models import RunRow
from tests.scheduler.helpers import Receiver, fast, gate, now, record_run, settings_for

ROOT = Path(__file__).resolve().parents[2]


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Poll `condition()` with backoff until it is true; fail saying `what` never happened."""
    deadline, pause = time.monotonic() + timeout_s, 0.005
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


async def test_a_fire_while_the_audit_runs_is_skipped_not_queued(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "auditor.scheduler")
    started, release = gate("long")
    async with Heartbeat(None) as hb:
        scheduler = AuditScheduler(settings_for(tmp_path, gate="long"), fast(), store, hb)
        scheduler.start()
        first = scheduler.fire("nightly", "test")
        assert first is not None
        await asyncio.wait_for(started.wait(), 10)
        # APScheduler itself fires the job now, while the first run is held.
        scheduler.jobs.modify_job("nightly", next_run_time=datetime.now(UTC))
        await until(lambda: "skipped (on schedule)" in caplog.text, "the fire to be skipped")
        assert scheduler.fire("nightly", "by hand") is None
        release.set()
        run = await first
        await scheduler.stop(5)
    assert run is not None and run.status == RunStatus.PASS
    assert [r.id for r in store.recent_runs(audit="nightly")] == [run.id]
    assert "audit 'nightly' skipped (on schedule): its previous run is still going; next run" in caplog.text


async def test_a_stop_lets_a_short_run_finish(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "auditor.scheduler")
    record_run(store, now() - timedelta(minutes=30))  # so a catch-up run starts at once
    started, release = gate("short")
    stop = asyncio.Event()
    service = asyncio.create_task(
        run_scheduler(settings_for(tmp_path, gate="short"), scheduler_config=fast(), stop_event=stop)
    )
    await asyncio.wait_for(started.wait(), 10)
    stop.set()
    await until(lambda: "stopping: waiting up to 10 s" in caplog.text, "the stop to wait for the run")
    release.set()

    assert await asyncio.wait_for(service, 10) == 0
    newest = store.recent_runs(audit="nightly")[0]
    assert newest.status == RunStatus.PASS
    assert newest.finished_at is not None


async def test_a_run_over_the_stop_limit_ends_interrupted_and_is_made_up_next_start(
    tmp_path: Path, store: Store, heartbeat: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "auditor.scheduler")
    record_run(store, now() - timedelta(minutes=30))
    started, release = gate("stuck")
    stop = asyncio.Event()
    config = fast(stop_timeout_s=0.2, heartbeat_url=f"{heartbeat.url}/hc")
    service = asyncio.create_task(
        run_scheduler(settings_for(tmp_path, gate="stuck"), scheduler_config=config, stop_event=stop)
    )
    try:
        await asyncio.wait_for(started.wait(), 10)
        stop.set()
        assert await asyncio.wait_for(service, 10) == 0
    finally:
        release.set()

    newest = store.recent_runs(audit="nightly")[0]
    assert newest.status == RunStatus.INTERRUPTED
    assert "interrupted: it did not finish before the stop limit" in caplog.text
    assert heartbeat.paths == ["/hc/start", "/hc/fail"]
    every_minute = {"nightly": cron_trigger("* * * * *", "UTC")}
    (missed,) = plan_catch_up(store, every_minute, now=now(), grace_s=3600)
    assert missed.audit == "nightly"


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(gone.stdout)


async def test_a_run_left_running_by_a_dead_process_is_marked_interrupted_at_start(
    tmp_path: Path, store: Store, dead_pid: int, caplog: pytest.LogCaptureFixture
) -> None:
    run = RunResult(
        id="orphan",
        audit="nightly",
        site="shop",
        base_url="http://127.0.0.1:9",
        trigger="schedule",
        started_at=now() - timedelta(minutes=5),
    )
    store.start_run(run)
    with Session(store.engine) as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == "orphan").values(pid=dead_pid))
    stop = asyncio.Event()
    stop.set()

    await run_scheduler(settings_for(tmp_path, "0 3 * * *"), scheduler_config=fast(), stop_event=stop)

    assert store.recent_runs(audit="nightly")[0].status == RunStatus.INTERRUPTED
    assert "run orphan was left running by a process that is gone; marked interrupted" in caplog.text


async def test_a_config_without_schedules_is_refused_before_anything_runs(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.audits["nightly"].schedule = None
    with pytest.raises(NothingMatched, match="no audit in the config has a `schedule`"):
        await run_scheduler(settings, scheduler_config=fast())
    assert not (tmp_path / "runs.db").exists()


def test_sigterm_stops_the_scheduler_with_exit_code_0(tmp_path: Path) -> None:
    (tmp_path / "auditor.toml").write_text(
        textwrap.dedent("""
        database_url = "sqlite:///runs.db"
        [sites.shop]
        base_url = "http://127.0.0.1:9"
        [checks.links]
        kind = "crawl"
        [audits.nightly]
        checks = ["links"]
        schedule = "0 3 * * 1-5"
        """)
    )
    script = textwrap.dedent(f"""
        import logging, sys
        from auditor import config
        from auditor.scheduler.config import SchedulerConfig
        from auditor.scheduler.service import serve
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        settings = config.load({str(tmp_path / "auditor.toml")!r})
        sys.exit(serve(settings, scheduler_config=SchedulerConfig(timezone="Europe/Berlin")))
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ}
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert "audit 'nightly' scheduled '0 3 * * 1-5' (Europe/Berlin): next run" in first
    assert first.rstrip().endswith(("CET", "CEST"))
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=30) == 0, rest
    assert "SIGTERM received: no new runs" in rest
    assert "auditor.scheduler: stopped" in rest

"""A run missed while the scheduler was down runs once at start, within the grace period only."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.results import RunStatus
from auditor.scheduler.catchup import missed_fire, plan_catch_up
from auditor.scheduler.cron import cron_trigger
from auditor.scheduler.service import run_scheduler
from auditor.store import Store
from tests.scheduler.helpers import fast, now, record_run, settings_for

NIGHTLY = cron_trigger("0 3 * * *", "UTC")
TEN_AM = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
THREE_AM = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SIX_HOURS = 6 * 3600.0
EIGHT_HOURS = 8 * 3600.0


def test_a_fire_missed_within_the_grace_is_caught_up() -> None:
    yesterday = THREE_AM - timedelta(days=1)
    assert missed_fire(NIGHTLY, last_run=yesterday, now=TEN_AM, grace_s=EIGHT_HOURS) == THREE_AM


def test_no_catch_up_beyond_the_grace() -> None:
    yesterday = THREE_AM - timedelta(days=1)
    assert missed_fire(NIGHTLY, last_run=yesterday, now=TEN_AM, grace_s=SIX_HOURS) is None


def test_no_catch_up_when_a_run_started_after_the_last_fire() -> None:
    assert (
        missed_fire(NIGHTLY, last_run=THREE_AM + timedelta(seconds=1), now=TEN_AM, grace_s=EIGHT_HOURS)
        is None
    )


def test_no_catch_up_for_an_audit_that_never_ran_on_schedule() -> None:
    assert missed_fire(NIGHTLY, last_run=None, now=TEN_AM, grace_s=EIGHT_HOURS) is None


def test_several_missed_fires_are_one_catch_up_of_the_latest() -> None:
    every_minute = cron_trigger("* * * * *", "UTC")
    missed = missed_fire(every_minute, last_run=TEN_AM - timedelta(minutes=30), now=TEN_AM, grace_s=SIX_HOURS)
    assert missed == TEN_AM


def test_the_history_decides_and_only_scheduled_finished_runs_count(any_store: Store) -> None:
    store = any_store
    record_run(store, THREE_AM - timedelta(days=1))
    # Neither a manual run nor a scheduled run cut short by a restart did the 03:00 run's job.
    record_run(store, THREE_AM + timedelta(minutes=5), trigger="manual")
    record_run(store, THREE_AM + timedelta(minutes=1), status=RunStatus.INTERRUPTED)
    (missed,) = plan_catch_up(store, {"nightly": NIGHTLY}, now=TEN_AM, grace_s=EIGHT_HOURS)
    assert (missed.audit, missed.fire_time, missed.last_run) == (
        "nightly",
        THREE_AM,
        THREE_AM - timedelta(days=1),
    )

    record_run(store, THREE_AM + timedelta(minutes=2), status=RunStatus.FAIL)
    assert plan_catch_up(store, {"nightly": NIGHTLY}, now=TEN_AM, grace_s=EIGHT_HOURS) == []


async def test_several_missed_fires_make_one_run_at_start(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "auditor.scheduler")
    first = record_run(store, now() - timedelta(minutes=30))
    stop = asyncio.Event()
    stop.set()  # start, catch up, stop: the catch-up run is let finish

    assert await run_scheduler(settings_for(tmp_path), scheduler_config=fast(), stop_event=stop) == 0

    runs = store.recent_runs(audit="nightly")
    assert len(runs) == 2
    assert runs[1].id == first
    assert runs[0].status == RunStatus.PASS
    assert runs[0].started_at > now() - timedelta(minutes=1)
    assert caplog.text.count("(catch-up: the run due ") == 1


async def test_no_run_at_start_when_the_last_fire_was_not_missed(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    on_the_minute = (now() - timedelta(minutes=30)).replace(second=0, microsecond=0)
    record_run(store, on_the_minute)
    stop = asyncio.Event()
    stop.set()
    caplog.set_level(logging.INFO, "auditor.scheduler")
    # The injected clock says the scheduler comes back a second after that run: nothing was missed.
    back = on_the_minute + timedelta(seconds=1)
    await run_scheduler(settings_for(tmp_path), scheduler_config=fast(), stop_event=stop, now=lambda: back)
    assert "catch-up" not in caplog.text
    assert "audit 'nightly' scheduled '* * * * *' (UTC): next run" in caplog.text

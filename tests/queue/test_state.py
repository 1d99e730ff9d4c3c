"""QueueState (auditor/queue/state.py): the queue's store layer, on real SQLite and PostgreSQL.

The races are real: two OS processes (multiprocessing, spawn) claim the same rows of one PostgreSQL
database at the same moment, synchronised by a barrier before every claim.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from auditor.errors import StoreError
from auditor.queue.config import QueueConfig
from auditor.queue.state import QueueState, slot_time
from auditor.results import CheckResult, RunResult, RunStatus, Status
from auditor.store import Store
from auditor.store.models import RunRow
from auditor.store.queue_models import WorkerRow
from tests.queue.conftest import PrivateRedis

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
RACE_ROUNDS = 50


def _run(
    run_id: str, *, audit: str = "nightly", site: str = "shop-a", at: datetime | None = None
) -> RunResult:
    return RunResult(
        id=run_id,
        audit=audit,
        site=site,
        base_url="http://127.0.0.1:1/",
        trigger="schedule",
        started_at=at or datetime.now(UTC),
    )


def _set(store: Store, table: Any, key: Any, **values: Any) -> None:
    """Age a row by hand (what a silent worker or a long run leaves behind)."""
    with store.engine.begin() as c:
        column = table.id if table is RunRow else table.name
        c.execute(update(table).where(column == key).values(**values))


def _dead_pid() -> int:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(gone.stdout)


# -- fixtures --------------------------------------------------------------------------------


def test_store_fixture_is_empty(store: Store) -> None:
    assert store.recent_runs() == []
    assert QueueState(store).workers() == []


def test_private_redis_stops_and_starts(private_redis: PrivateRedis) -> None:
    assert private_redis.running
    private_redis.stop()
    assert not private_redis.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", private_redis.port), timeout=2).close()
    private_redis.start()
    assert private_redis.running and private_redis._pong()


# -- the [queue] keys ------------------------------------------------------------------------


def test_queue_keys_defaults_and_checks() -> None:
    q = QueueConfig(broker_url="redis://127.0.0.1:6379/0")
    assert (q.queue_name, q.stop_timeout_s, q.stale_after_s) == ("auditor", 60.0, None)
    assert q.stale_after() == 30.0
    assert QueueConfig(broker_url="redis://x", heartbeat_interval_s=2).stale_after() == 6.0
    assert QueueConfig(broker_url="redis://x", stale_after_s=45).stale_after() == 45.0
    with pytest.raises(ValueError, match="must be longer than heartbeat_interval_s"):
        QueueConfig(broker_url="redis://x", heartbeat_interval_s=10, stale_after_s=10)
    with pytest.raises(ValueError, match="queue_name"):
        QueueConfig(broker_url="redis://x", queue_name="two words")
    with pytest.raises(ValueError, match="stop_timeout_s"):
        QueueConfig(broker_url="redis://x", stop_timeout_s=0)


# -- runs --------------------------------------------------------------------------------------


def test_queued_claimed_started_finished_keeps_worker_and_queue_time(store: Store) -> None:
    q = QueueState(store)
    queued_at = datetime.now(UTC) - timedelta(minutes=3)
    q.record_queued(
        "r1", audit="nightly", site="shop-a", base_url="http://x/", trigger="schedule", queued_at=queued_at
    )
    (summary,) = store.recent_runs()
    assert (summary.status, summary.worker, summary.queued_at) == (RunStatus.QUEUED, None, queued_at)
    assert [r.id for r in q.queued_runs()] == ["r1"]

    assert q.claim_run("r1", worker="auditor@host/1")
    assert not q.claim_run("r1", worker="auditor@host/2")  # a second delivery: a duplicate
    assert q.queued_runs() == []
    run = _run("r1")
    store.start_run(run)  # the row this process claimed: updated, not inserted twice
    run.checks.append(CheckResult(name="links", kind="crawl", status=Status.PASS))
    store.finish_check("r1", run.checks[0])
    run.status, run.finished_at = RunStatus.PASS, datetime.now(UTC)
    store.finish_run(run)

    (summary,) = store.recent_runs()
    assert summary.status == RunStatus.PASS
    assert summary.worker == "auditor@host/1"  # the claim's worker, not the second delivery's
    assert summary.queued_at == queued_at
    assert summary.started_at == run.started_at
    loaded = store.load_run("r1")
    assert loaded is not None and [c.name for c in loaded.checks] == ["links"]


def test_start_run_takes_a_queued_row_directly_and_refuses_another_process_run(store: Store) -> None:
    q = QueueState(store)
    q.record_queued("direct", audit="nightly", site="shop-a", base_url="http://x/", trigger="manual")
    store.start_run(_run("direct"))  # run in this process without a claim (the dashboard's pool)
    (summary,) = store.recent_runs()
    assert summary.status == RunStatus.RUNNING and summary.queued_at is not None

    q.record_queued("theirs", audit="nightly", site="shop-a", base_url="http://x/", trigger="manual")
    assert q.claim_run("theirs", worker="auditor@elsewhere/9")
    _set(store, RunRow, "theirs", pid=_dead_pid())  # claimed by some other process
    with pytest.raises(StoreError, match=r"run theirs is already recorded .*auditor@elsewhere/9"):
        store.start_run(_run("theirs"))
    store.start_run(_run("fresh"))  # a run never queued is inserted, as always
    assert {r.id for r in store.recent_runs()} == {"direct", "theirs", "fresh"}


def test_record_queued_twice_is_a_clear_error_and_forget_drops_only_queued(store: Store) -> None:
    q = QueueState(store)
    q.record_queued("r1", audit="a", site="s", base_url="http://x/", trigger="manual")
    with pytest.raises(StoreError, match="run r1 is already recorded"):
        q.record_queued("r1", audit="a", site="s", base_url="http://x/", trigger="manual")
    q.record_queued("r2", audit="a", site="s", base_url="http://x/", trigger="manual")
    assert q.claim_run("r2", worker="w/1")
    q.forget_queued("r1")
    q.forget_queued("r2")  # claimed: a worker's now, kept
    assert [r.id for r in store.recent_runs()] == ["r2"]
    assert not q.claim_run("r1", worker="w/1")  # forgotten: nothing to run


def test_mark_interrupted_leaves_queued_runs_and_worker_runs_alone(store: Store) -> None:
    q = QueueState(store)
    dead = _dead_pid()
    q.record_queued("waiting", audit="a", site="s", base_url="http://x/", trigger="manual")
    q.record_queued("on-worker", audit="a", site="s", base_url="http://x/", trigger="manual")
    assert q.claim_run("on-worker", worker="auditor@h/1")
    store.start_run(_run("embedded"))
    for run_id in ("on-worker", "embedded"):
        _set(store, RunRow, run_id, pid=dead)  # both processes are gone, as far as a pid says
    assert store.mark_interrupted() == ["embedded"]
    status = {r.id: r.status for r in store.recent_runs()}
    assert status == {
        "waiting": RunStatus.QUEUED,
        "on-worker": RunStatus.RUNNING,
        "embedded": RunStatus.INTERRUPTED,
    }


def test_prune_keeps_queued_runs_and_live_workers(store: Store) -> None:
    q = QueueState(store)
    old = datetime.now(UTC) - timedelta(days=400)
    q.record_queued("waiting", audit="a", site="s", base_url="http://x/", trigger="manual", queued_at=old)
    assert q.claim_slot("a", "s", old, scheduler="s1")
    q.worker_beat("live/1", state="idle")
    q.worker_beat("gone/2", state="idle")
    q.worker_stopped("gone/2")
    _set(store, WorkerRow, "gone/2", last_seen_at=old)
    _set(store, WorkerRow, "live/1", started_at=old)
    pruned = store.prune(datetime.now(UTC) - timedelta(days=30))
    assert (
        pruned.counts["runs"] == 0 and pruned.counts["schedule slots"] == 1 and pruned.counts["workers"] == 1
    )
    assert [r.id for r in q.queued_runs()] == ["waiting"]
    assert [w.name for w in q.workers()] == ["live/1"]


# -- reaping -----------------------------------------------------------------------------------


def test_reap_interrupts_only_the_runs_of_workers_that_are_gone(store: Store) -> None:
    q = QueueState(store)
    now = datetime.now(UTC)
    long_ago = now - timedelta(hours=10)

    def claimed(run_id: str, worker: str, started: datetime) -> None:
        q.record_queued(run_id, audit="nightly", site=run_id, base_url="http://x/", trigger="schedule")
        assert q.claim_run(run_id, worker=worker)
        _set(store, RunRow, run_id, started_at=started)

    q.worker_beat("alive/1", state="running", run_id="long")
    claimed("long", "alive/1", long_ago)  # a 10-hour crawl of a worker that keeps beating
    q.worker_beat("silent/2", state="running", run_id="killed")
    claimed("killed", "silent/2", now - timedelta(minutes=2))
    _set(store, WorkerRow, "silent/2", last_seen_at=now - timedelta(seconds=31))
    q.worker_beat("quit/3", state="idle")
    claimed("left", "quit/3", now - timedelta(minutes=1))
    q.worker_stopped("quit/3")  # exited without finishing it (killed during its shutdown)
    claimed("no-beat-yet", "new/4", now - timedelta(seconds=5))  # claimed before its first beat
    claimed("never-beat", "died/5", now - timedelta(minutes=5))  # and died before it
    q.record_queued(
        "waiting", audit="nightly", site="w", base_url="http://x/", trigger="schedule", queued_at=long_ago
    )
    store.start_run(_run("embedded", at=long_ago))  # the embedded scheduler's: not the reaper's

    assert sorted(q.reap(30, now=now)) == ["killed", "left", "never-beat"]
    assert q.reap(30, now=now) == []  # each run once, however many processes reap
    status = {r.id: r.status for r in store.recent_runs()}
    assert status == {
        "long": RunStatus.RUNNING,
        "killed": RunStatus.INTERRUPTED,
        "left": RunStatus.INTERRUPTED,
        "no-beat-yet": RunStatus.RUNNING,
        "never-beat": RunStatus.INTERRUPTED,
        "waiting": RunStatus.QUEUED,
        "embedded": RunStatus.RUNNING,
    }
    states = {w.name: w.state for w in q.workers()}
    assert states == {"alive/1": "running", "silent/2": "lost", "quit/3": "stopped"}
    assert [w.name for w in q.workers(live_within_s=30)] == ["alive/1"]
    killed = store.load_run("killed")
    assert killed is not None and killed.finished_at is not None


def test_a_run_whose_worker_name_another_process_took_is_reaped(store: Store) -> None:
    """A restarted container's worker gets the same nodename and the same small pids: its beats
    under the old name do not keep the dead process's run alive."""
    q = QueueState(store)
    q.worker_beat("auditor@box/7", state="running", run_id="old")
    q.record_queued("old", audit="a", site="s", base_url="http://x/", trigger="schedule")
    assert q.claim_run("old", worker="auditor@box/7")
    assert q.reap(30) == []  # the claimer itself beats: live
    _set(store, WorkerRow, "auditor@box/7", process_start="1", last_seen_at=datetime.now(UTC))
    assert q.reap(30) == ["old"]  # same name and pid, another process
    assert store.recent_runs()[0].status == RunStatus.INTERRUPTED


def test_a_lost_worker_that_beats_again_is_live_and_its_reaped_run_stays_interrupted(store: Store) -> None:
    q = QueueState(store)
    q.record_queued("r", audit="a", site="s", base_url="http://x/", trigger="schedule")
    q.worker_beat("w/1", state="running", run_id="r")
    assert q.claim_run("r", worker="w/1")
    assert q.reap(30, now=datetime.now(UTC) + timedelta(seconds=60)) == ["r"]
    q.worker_beat("w/1", state="idle")
    assert [w.state for w in q.workers(live_within_s=30)] == ["idle"]
    assert store.recent_runs()[0].status == RunStatus.INTERRUPTED


def test_a_queued_or_interrupted_run_never_alerts(store: Store) -> None:
    q = QueueState(store)
    q.record_queued("waiting", audit="a", site="s", base_url="http://x/", trigger="schedule")
    q.record_queued("reaped", audit="a", site="s", base_url="http://x/", trigger="schedule")
    assert q.claim_run("reaped", worker="w/1")
    q.reap(30, now=datetime.now(UTC) + timedelta(seconds=60))
    asked: list[str] = []

    def decide(incidents: list[Any]) -> list[Any]:
        asked.append("decide")
        return []

    for run_id in ("waiting", "reaped"):
        assert store.apply_run("a", run_id, T0, decide, now=T0, site="s") is None
    assert asked == []
    store.start_run(_run("done", audit="a", site="s", at=T0))
    assert store.apply_run("a", "done", T0, decide, now=T0, site="s") == []
    assert asked == ["decide"]


def test_worker_rows(store: Store) -> None:
    q = QueueState(store)
    q.worker_beat("auditor@h/10", state="main")
    q.worker_beat("auditor@h/11", state="running", run_id="r", audit="nightly", site="shop")
    first = {w.name: w for w in q.workers()}
    q.worker_beat("auditor@h/11", state="idle")
    again = {w.name: w for w in q.workers()}
    w = again["auditor@h/11"]
    assert (w.state, w.run_id, w.audit, w.site, w.pid) == ("idle", None, None, None, os.getpid())
    assert w.started_at == first["auditor@h/11"].started_at
    assert w.last_seen_at >= first["auditor@h/11"].last_seen_at
    q.worker_stopped("auditor@h/11")
    assert [x.name for x in q.workers(live_within_s=60)] == ["auditor@h/10"]
    with pytest.raises(ValueError, match="unknown worker state 'busy'"):
        q.worker_beat("auditor@h/12", state="busy")


# -- slots -------------------------------------------------------------------------------------


def test_slots_claimed_once_enqueued_missed_and_listed(store: Store) -> None:
    q = QueueState(store)
    assert q.claim_slot("nightly", "shop-a", T0, scheduler="sched-1")
    assert not q.claim_slot(
        "nightly", "shop-a", T0 + timedelta(seconds=17), scheduler="sched-2"
    )  # same minute
    taken = q.slot("nightly", "shop-a", T0)
    assert taken is not None and (taken.scheduler, taken.state) == ("sched-1", "claimed")
    assert q.claim_slot("nightly", "shop-b", T0, scheduler="sched-2")  # another site, its own slot
    assert q.claim_slot("nightly", "shop-a", T0 + timedelta(minutes=1), scheduler="sched-2")
    q.slot_enqueued("nightly", "shop-a", T0, "run-1")
    q.slot_missed("nightly", "shop-b", T0, "broker redis://127.0.0.1:6390/0 unreachable: connection refused")
    q.slot_missed("nightly", "shop-a", T0 + timedelta(minutes=1), "broker down")
    enqueued = q.slot("nightly", "shop-a", T0)
    assert enqueued is not None and (enqueued.state, enqueued.run_id) == ("enqueued", "run-1")
    missed = q.missed_slots()
    assert [(m.site, m.slot_at) for m in missed] == [("shop-a", T0 + timedelta(minutes=1)), ("shop-b", T0)]
    assert "connection refused" in (missed[1].detail or "")
    assert [m.site for m in q.missed_slots(since=T0 + timedelta(seconds=30))] == ["shop-a"]
    with pytest.raises(StoreError, match="never claimed"):
        q.slot_missed("nightly", "shop-c", T0, "x")
    with pytest.raises(ValueError, match="naive"):
        q.claim_slot("nightly", "shop-a", datetime(2026, 12, 2, 3, 0), scheduler="s")


_ODD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60
)
_minutes = itertools.count()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(audit=_ODD, site=_ODD, reason=st.text(max_size=3000))
def test_odd_names_round_trip(store: Store, audit: str, site: str, reason: str) -> None:
    q = QueueState(store)
    slot = T0 + timedelta(minutes=next(_minutes))
    run_id = uuid.uuid4().hex
    q.record_queued(run_id, audit=audit, site=site, base_url="http://x/\udcff", trigger="schedule")
    (queued,) = [r for r in q.queued_runs(limit=1000) if r.id == run_id]
    assert (queued.audit, queued.site) == (audit, site)
    assert q.claim_slot(audit, site, slot, scheduler=site)
    assert not q.claim_slot(audit, site, slot, scheduler="other")
    q.slot_missed(audit, site, slot, reason)
    got = q.slot(audit, site, slot)
    assert got is not None and got.state == "missed" and got.scheduler == site
    assert got.detail is not None and len(got.detail) <= 2000
    q.worker_beat(f"{site}/1", state="running", run_id=run_id, audit=audit, site=site)
    (w,) = [w for w in q.workers() if w.name == f"{site}/1"]
    assert (w.audit, w.site) == (audit, site)


# -- races between processes (PostgreSQL, and SQLite for one machine) -------------------------


def _race(kind: str, url: str, keys: list[str], me: str, barrier: Any, out: Any) -> None:
    """One racer: before each claim, wait for the other at the barrier, then claim at once."""
    store = Store.open(url, migrate=False)
    q = QueueState(store)
    won: list[str] = []
    try:
        if kind == "reap":  # one reap each, at the same moment
            barrier.wait(timeout=90)
            won = q.reap(30)
            keys = []
        for key in keys:
            barrier.wait(timeout=90)
            if kind == "run":
                ok = q.claim_run(key, worker=me)
            else:
                ok = q.claim_slot("nightly", key, T0, scheduler=me)
            if ok:
                won.append(key)
        out.put((me, won, None))
    except Exception as exc:  # reported to the test, which fails with it
        out.put((me, won, f"{type(exc).__name__}: {exc}"))
    finally:
        store.close()


def _two_racers(kind: str, url: str, keys: list[str]) -> dict[str, list[str]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(kind, url, keys, f"racer-{i}", barrier, out)) for i in (1, 2)]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=180) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    errors = [err for _, _, err in results if err]
    assert errors == []
    return {me: won for me, won, _ in results}


def test_two_processes_claiming_the_same_runs_each_get_exactly_one(store: Store) -> None:
    q = QueueState(store)
    keys = [f"race-{i}" for i in range(RACE_ROUNDS)]
    for key in keys:
        q.record_queued(key, audit="nightly", site="shop", base_url="http://x/", trigger="schedule")
    won = _two_racers("run", store.url, keys)
    assert sorted(won["racer-1"] + won["racer-2"]) == sorted(keys)  # every run once, none twice
    workers = {r.id: r.worker for r in store.recent_runs(limit=RACE_ROUNDS)}
    assert all(workers[k] == ("racer-1" if k in won["racer-1"] else "racer-2") for k in keys)


def test_two_processes_claiming_the_same_slots_each_get_exactly_one(store: Store) -> None:
    q = QueueState(store)
    keys = [f"shop-{i}" for i in range(RACE_ROUNDS)]
    won = _two_racers("slot", store.url, keys)
    assert sorted(won["racer-1"] + won["racer-2"]) == sorted(keys)
    for key in keys:
        slot = q.slot("nightly", key, T0)
        assert slot is not None and slot.scheduler == ("racer-1" if key in won["racer-1"] else "racer-2")


@pytest.mark.parametrize("worker_state", ["running", "stopped"])
def test_two_processes_reaping_at_once_interrupt_each_run_once(store: Store, worker_state: str) -> None:
    """A silent worker (both reapers mark it lost: they queue on its row) and one already gone (no
    worker row changes: only the runs' own locks keep the two reapers apart)."""
    q = QueueState(store)
    keys = [f"orphan-{i}" for i in range(RACE_ROUNDS)]
    q.worker_beat("killed/1", state="running")
    for key in keys:
        q.record_queued(key, audit="nightly", site=key, base_url="http://x/", trigger="schedule")
        assert q.claim_run(key, worker="killed/1")
    old = datetime.now(UTC) - timedelta(minutes=5)
    _set(store, WorkerRow, "killed/1", last_seen_at=old, state=worker_state)
    won = _two_racers("reap", store.url, keys)
    assert sorted(won["racer-1"] + won["racer-2"]) == sorted(keys)
    assert {r.status for r in store.recent_runs(limit=RACE_ROUNDS)} == {RunStatus.INTERRUPTED}


def test_slot_time_is_the_minute_in_utc() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 12, 2, 4, 0, 42, 123, tzinfo=ZoneInfo("Europe/Berlin"))
    assert slot_time(local) == T0


# -- the consumers of RunStatus meet a queued run ---------------------------------------------


def _finished(store: Store, run_id: str, status: RunStatus, at: datetime) -> RunResult:
    run = _run(run_id, at=at)
    store.start_run(run)
    run.checks.append(CheckResult(name="links", kind="crawl", status=Status(status.value)))
    store.finish_check(run_id, run.checks[0])
    run.status, run.finished_at = status, at + timedelta(minutes=3)
    store.finish_run(run)
    return run


def test_dashboard_history_and_catch_up_read_a_queued_run(store: Store) -> None:
    from sqlalchemy.orm import Session

    from auditor.config import from_dict
    from auditor.scheduler.catchup import plan_catch_up
    from auditor.scheduler.cron import cron_trigger
    from auditor.web import queries

    fired = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    _finished(store, "failed", RunStatus.FAIL, fired - timedelta(days=1))
    q = QueueState(store)
    q.record_queued(
        "waiting", audit="nightly", site="shop-a", base_url="http://x/", trigger="schedule", queued_at=fired
    )

    settings = from_dict({"sites": {"shop-a": {"base_url": "http://x/"}}})
    with Session(store.engine) as s:
        (row,) = queries.overview(s, settings)
        # The site is still as its last finished run left it, with a run on its way.
        assert (row.status, row.running, row.last_run and row.last_run.id) == ("fail", True, "failed")
        assert [c.status for c in row.strip] == ["fail", "queued"]
        detail = queries.site_detail(s, settings, queries.EVERYONE, "shop-a")
        assert detail is not None
        page = queries.list_runs(s, queries.EVERYONE, status="queued")
        assert [r.id for r in page.items] == ["waiting"]

    later = _run("later", at=fired + timedelta(minutes=1))
    history = store.history_for(later)  # a report's history: the queued run has no outcome yet
    assert [r.id for r in history.runs] == ["failed"]

    # The fire was enqueued: nothing to catch up on (a worker will run it) ...
    every_minute_at = {"nightly": cron_trigger(f"{fired.minute} * * * *", "UTC")}
    assert plan_catch_up(store, every_minute_at, now=fired + timedelta(minutes=2), grace_s=3600) == []
    # ... until it is reaped as interrupted: then its fire was missed and is made up.
    assert q.claim_run("waiting", worker="gone/1")
    assert q.reap(30, now=datetime.now(UTC) + timedelta(minutes=5)) == ["waiting"]
    (missed,) = plan_catch_up(store, every_minute_at, now=fired + timedelta(minutes=2), grace_s=3600)
    assert missed.audit == "nightly"

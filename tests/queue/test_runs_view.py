"""`auditor runs` once a queue is in use: queued runs wait, running ones say how long so far, and
finished ones how long they waited and which worker ran them; missed slots are listed after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.alerts.views import format_runs
from auditor.queue.state import Slot
from auditor.results import RunStatus
from auditor.store.store import RunSummary

NOW = datetime(2026, 12, 3, 3, 30, tzinfo=UTC)


def summary(rid: str, status: RunStatus, **kw: object) -> RunSummary:
    fields: dict = {"started_at": NOW - timedelta(minutes=10), "finished_at": None, "stats": {}} | kw
    return RunSummary(rid, "nightly", "shop-a", status, **fields)  # type: ignore[arg-type]


def test_queued_running_and_finished_runs_with_their_wait_and_worker() -> None:
    runs = [
        summary(
            "r3",
            RunStatus.QUEUED,
            queued_at=NOW - timedelta(minutes=2),
            started_at=NOW - timedelta(minutes=2),
        ),
        summary(
            "r2", RunStatus.RUNNING, queued_at=NOW - timedelta(minutes=10, seconds=5), worker="auditor@w1:11"
        ),
        summary(
            "r1",
            RunStatus.FAIL,
            queued_at=NOW - timedelta(minutes=11),
            started_at=NOW - timedelta(minutes=10),
            finished_at=NOW - timedelta(minutes=9),
            stats={"errors": 2, "warnings": 1},
            worker="auditor@w2:7",
        ),
    ]
    lines = [line.split() for line in format_runs(runs, now=NOW).splitlines()]
    assert lines[0][-2:] == ["WAITED", "WORKER"]
    assert lines[1] == ["r3", "nightly", "shop-a", "queued", "-", "waiting", "2", "min", "0", "0", "-", "-"]
    assert lines[2] == [
        "r2", "nightly", "shop-a", "running", "2026-12-03", "03:20", "10", "min", "so", "far", "0", "0",
        "5", "s", "auditor@w1:11",
    ]  # fmt: skip
    assert lines[3] == [
        "r1", "nightly", "shop-a", "fail", "2026-12-03", "03:20", "1", "min", "2", "1",
        "1", "min", "auditor@w2:7",
    ]  # fmt: skip


def test_runs_outside_a_queue_keep_the_plain_columns_and_running_says_so_far() -> None:
    text = format_runs([summary("r1", RunStatus.RUNNING)], now=NOW)
    header, row = text.splitlines()
    assert "WORKER" not in header and "WAITED" not in header
    assert row.split()[-4:] == ["so", "far", "0", "0"]


def test_missed_slots_follow_the_runs_with_the_first_line_of_why() -> None:
    slot = Slot(
        "nightly",
        "shop-b",
        NOW - timedelta(days=1),
        "scheduler@h/1",
        "missed",
        None,
        NOW - timedelta(days=1),
        NOW - timedelta(days=1),
        "the broker at redis://:***@r:6379/0 did not take the task\nTraceback ...",
    )
    text = format_runs([], now=NOW, missed=[slot])
    assert text.splitlines()[0] == "No runs recorded yet."
    assert "Missed slots (1): scheduled, but no run could be queued" in text
    last = text.splitlines()[-1].split()
    assert last[:4] == ["2026-12-02", "03:30", "nightly", "shop-b"]
    assert "Traceback" not in text
    assert format_runs([]) == "No runs recorded yet; `auditor run AUDIT` records one."

"""The store keeps runs, checks and findings as they happen and gives them back whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.errors import StoreError
from auditor.results import Artifact, CheckResult, Finding, RunResult, RunStatus, Severity, Status
from auditor.store import Store

BASE = "http://127.0.0.1:8000"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def a_run(run_id: str = "r1", audit: str = "nightly", started: datetime = T0) -> RunResult:
    return RunResult(id=run_id, audit=audit, site="shop", base_url=BASE, trigger="manual", started_at=started)


def a_finding(url: str = f"{BASE}/gone", source: str = f"{BASE}/") -> Finding:
    f = Finding(kind="broken_link", severity=Severity.ERROR, url=url, message="404", source=source)
    return f.finalize("crawl", BASE)


def test_a_finished_run_loads_back_as_it_was_written(db_url: str) -> None:
    store = Store.open(db_url)
    run = a_run()
    store.start_run(run)
    finding = a_finding()
    finding.evidence = {"status": 404, "chain": [f"{BASE}/old", f"{BASE}/gone"]}
    store.record_findings(run.id, [finding])
    check = CheckResult(
        findings=[finding],
        stats={"pages": 3},
        outputs={"x": 1},
        name="crawl",
        kind="crawl",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        duration_s=2.0,
        artifacts=[Artifact("screenshot.png", Path("/reports/r1/crawl/screenshot.png"), "image")],
    )
    run.checks.append(check)
    store.finish_check(run.id, check)
    run.status, run.finished_at = RunStatus.FAIL, T0 + timedelta(seconds=3)
    store.finish_run(run)
    store.close()

    loaded = Store.open(db_url).load_run(run.id)
    assert loaded is not None
    assert loaded.status == RunStatus.FAIL
    assert loaded.started_at == T0 and loaded.finished_at == T0 + timedelta(seconds=3)
    assert loaded.started_at.tzinfo is not None
    assert [(c.name, c.status, c.stats, c.outputs, c.duration_s) for c in loaded.checks] == [
        ("crawl", Status.FAIL, {"pages": 3}, {"x": 1}, 2.0)
    ]
    assert [f.to_dict() for f in loaded.findings] == [finding.to_dict()]
    assert loaded.stats() == run.stats()
    assert loaded.checks[0].artifacts == check.artifacts


def test_the_same_finding_again_updates_its_sources_instead_of_adding_a_row(db_url: str) -> None:
    store = Store.open(db_url)
    store.start_run(a_run())
    store.record_findings("r1", [a_finding(source=f"{BASE}/a")])
    again = a_finding(source=f"{BASE}/a")
    again.sources.append(f"{BASE}/b")
    again.message = "404 on two pages"
    store.record_findings("r1", [again, a_finding(url=f"{BASE}/other")])

    loaded = store.load_run("r1")
    assert loaded is not None
    by_url = {f.url: f for f in loaded.findings}
    assert len(loaded.findings) == 2
    assert by_url[f"{BASE}/gone"].sources == [f"{BASE}/a", f"{BASE}/b"]
    assert by_url[f"{BASE}/gone"].message == "404 on two pages"


def test_a_check_finished_twice_keeps_one_row_with_the_last_outcome(db_url: str) -> None:
    store = Store.open(db_url)
    store.start_run(a_run())
    store.finish_check("r1", CheckResult(status=Status.ERROR, name="crawl", kind="crawl"))
    store.finish_check("r1", CheckResult(status=Status.PASS, name="crawl", kind="crawl"))
    loaded = store.load_run("r1")
    assert loaded is not None
    assert [(c.name, c.status) for c in loaded.checks] == [("crawl", Status.PASS)]


def test_recent_runs_are_newest_first_and_can_be_limited_to_one_audit(db_url: str) -> None:
    store = Store.open(db_url)
    for i, audit in enumerate(["nightly", "deploy", "nightly"]):
        store.start_run(a_run(f"r{i}", audit, T0 + timedelta(minutes=i)))
    assert [r.id for r in store.recent_runs()] == ["r2", "r1", "r0"]
    assert [r.id for r in store.recent_runs(audit="nightly", limit=1)] == ["r2"]
    assert store.recent_runs()[0].status == RunStatus.RUNNING


def test_an_unknown_run_loads_as_none(db_url: str) -> None:
    assert Store.open(db_url).load_run("nope") is None


def test_a_run_killed_mid_crawl_is_marked_interrupted_and_keeps_its_findings(
    db_url: str, tmp_path: Path
) -> None:
    Store.open(db_url).close()
    script = textwrap.dedent(f"""
        import sys, time
        from datetime import UTC, datetime
        from auditor.results import Finding, RunResult, Severity
        from auditor.store import Store
        s = Store.open({db_url!r}, migrate=False)
        s.start_run(RunResult(id="dead", audit="a", site="s", base_url="{BASE}", trigger="t",
                              started_at=datetime.now(UTC)))
        f = Finding(kind="broken_link", severity=Severity.ERROR, url="{BASE}/x", message="404")
        s.record_findings("dead", [f.finalize("crawl", "{BASE}")])
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    store = Store.open(db_url)
    store.start_run(a_run("alive"))  # this process is alive: its run must stay running
    assert store.mark_interrupted() == []
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert store.mark_interrupted() == ["dead"]
    loaded = store.load_run("dead")
    assert loaded is not None
    assert loaded.status == RunStatus.INTERRUPTED
    assert [f.url for f in loaded.findings] == [f"{BASE}/x"]
    assert store.load_run("alive") is not None
    assert store.recent_runs(audit="nightly")[0].status == RunStatus.RUNNING
    assert store.mark_interrupted() == []


def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    url = "postgresql+psycopg://auditor:s3cret-pw@127.0.0.1:1/nowhere"
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        Store.open(url)
    assert "s3cret-pw" not in str(err.value)
    assert "127.0.0.1:1/nowhere" in str(err.value)
    assert "AUDITOR_DATABASE_URL" in str(err.value)
    assert time.monotonic() - start < 10


def test_a_sqlite_database_in_a_missing_folder_says_which_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(StoreError, match=f"its folder {missing} does not exist. Create it, or give"):
        Store.open(f"sqlite:///{missing / 'auditor.db'}")


def test_a_sqlite_database_in_a_folder_the_user_may_not_write_says_so(tmp_path: Path) -> None:
    # /sys refuses new files even to root (a read-only folder does not stop root).
    folder = Path("/sys") if sys.platform == "linux" and Path("/sys").is_dir() else tmp_path / "locked"
    if folder != Path("/sys"):
        folder.mkdir()
        folder.chmod(0o500)
    if folder != Path("/sys") and os.access(folder, os.W_OK):
        pytest.skip("this user can write to a read-only folder")
    with pytest.raises(StoreError, match=f"may not create files in {folder} \\(permission denied\\)"):
        Store.open(f"sqlite:///{folder / 'auditor.db'}")


def test_prune_deletes_old_finished_runs_and_mail_and_keeps_what_is_current(db_url: str) -> None:
    store = Store.open(db_url)
    old, new = T0 - timedelta(days=100), T0
    for run_id, started, status in (("old", old, RunStatus.FAIL), ("new", new, RunStatus.FAIL)):
        run = a_run(run_id, started=started)
        store.start_run(run)
        store.record_findings(run.id, [a_finding()])
        store.finish_check(run.id, CheckResult(name="crawl", kind="crawl", status=Status.FAIL))
        run.status, run.finished_at = status, started + timedelta(seconds=5)
        store.finish_run(run)
    store.start_run(a_run("old-but-running", started=old))  # still running: the present, kept
    store.add_mail(b"Subject: old\r\n\r\nx", envelope_sender="s@x", recipients=["a@x"], received_at=old)
    store.add_mail(b"Subject: new\r\n\r\nx", envelope_sender="s@x", recipients=["a@x"], received_at=new)

    counts = store.prune(T0 - timedelta(days=30)).counts

    assert counts["runs"] == 1 and counts["findings"] == 1 and counts["checks"] == 1 and counts["mail"] == 1
    assert store.load_run("old") is None
    assert store.load_run("new") is not None and store.load_run("old-but-running") is not None
    assert [m.raw.split(b"\r\n")[0] for m in store.mail_for("a@x")] == [b"Subject: new"]
    store.close()

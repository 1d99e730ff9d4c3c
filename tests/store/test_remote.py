"""`auditor crawl` records through a database process of its own (`auditor.store.remote`).

What it writes must be what the in-process Store writes; what goes wrong must be what the
in-process Store says, or the command opens its own store; and a crawl that records never loads
SQLAlchemy in its own process (that import is what the other process takes off its start-up).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor._entry import ENV_SWITCH, records_a_crawl
from auditor.errors import RunIdTaken, StoreError
from auditor.results import CheckResult, Finding, RunStatus, Severity
from auditor.store import Store, remote
from auditor.store.remote import RemoteStore, StoreProcess
from tests.crawl.site import Site, page, serve
from tests.store.test_store import BASE, T0, a_finding, a_run


@pytest.fixture
def process() -> Iterator[StoreProcess]:
    started = StoreProcess.start()
    assert started is not None
    yield started
    started.stop()


def _url(tmp_path: Path, name: str = "remote.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def _record(store: Store | RemoteStore, run_id: str, findings: list[Finding]) -> None:
    run = a_run(run_id)
    store.start_run(run)
    store.record_findings(run.id, findings)
    check = CheckResult(findings=findings, stats={"pages": 2}, name="links", kind="crawl", started_at=T0)
    check.finished_at, check.duration_s = T0 + timedelta(seconds=1), 1.0
    run.checks.append(check)
    store.finish_check(run.id, check)
    run.status, run.finished_at = RunStatus.FAIL, T0 + timedelta(seconds=2)
    store.finish_run(run)


def _loaded(url: str, run_id: str) -> dict[str, object]:
    store = Store.open(url)
    try:
        run = store.load_run(run_id)
    finally:
        store.close()
    assert run is not None
    return {
        "status": run.status,
        "finished": run.finished_at,
        "checks": [(c.name, c.status, c.stats, c.duration_s) for c in run.checks],
        "findings": sorted(
            (f.kind, f.url, f.message, f.source or "") for c in run.checks for f in c.findings
        ),
    }


def test_a_run_recorded_through_the_process_loads_back_as_the_in_process_store_writes_it(
    process: StoreProcess, tmp_path: Path, db_url: str
) -> None:
    findings = [a_finding(), a_finding(f"{BASE}/also-gone", f"{BASE}/about")]
    there = process.open(db_url)
    assert isinstance(there, RemoteStore)
    _record(there, "r1", findings)
    history = there.history_for(a_run("r2", started=T0 + timedelta(hours=1)))
    there.close()
    assert process.proc.returncode == 0  # it ended with its pipe

    here = Store.open(_url(tmp_path, "here.db"))
    _record(here, "r1", findings)
    expected = here.history_for(a_run("r2", started=T0 + timedelta(hours=1)))
    here.close()
    assert _loaded(db_url, "r1") == _loaded(_url(tmp_path, "here.db"), "r1")
    assert history == expected
    assert [r.id for r in history.runs] == ["r1"]


def test_the_run_belongs_to_the_command_not_to_the_database_process(
    process: StoreProcess, tmp_path: Path
) -> None:
    there = process.open(_url(tmp_path))
    assert there is not None
    there.start_run(a_run("r1"))
    there.close()
    store = Store.open(_url(tmp_path))
    try:
        [summary] = store.recent_runs()
        with store._session() as s:
            from auditor.store.models import RunRow

            row = s.get(RunRow, "r1")
            assert row is not None and row.pid == os.getpid() != process.proc.pid
    finally:
        store.close()
    assert summary.status == RunStatus.RUNNING


def test_a_run_id_taken_and_a_database_that_cannot_open_raise_what_the_store_raises(
    process: StoreProcess, tmp_path: Path
) -> None:
    there = process.open(_url(tmp_path))
    assert there is not None
    done = a_run("r1")
    there.start_run(done)
    done.status = RunStatus.PASS
    there.finish_run(done)
    with pytest.raises(RunIdTaken, match="run r1 is already recorded"):
        there.start_run(a_run("r1"))
    there.close()

    url, in_process = _unopenable(tmp_path)
    second = StoreProcess.start()
    assert second is not None
    with pytest.raises(StoreError) as through:
        second.open(url)
    assert str(through.value) == in_process
    assert second.proc.returncode is not None  # stopped with its failed open


def _unopenable(tmp_path: Path) -> tuple[str, str]:
    """A database URL no store can open (a folder where the file should be), and what the
    in-process store says of it."""
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(StoreError) as in_process:
        Store.open(f"sqlite:///{folder}")
    return f"sqlite:///{folder}", str(in_process.value)


def test_a_process_gone_before_it_opened_lets_the_command_open_its_own_store(
    process: StoreProcess, tmp_path: Path
) -> None:
    process.proc.kill()
    process.proc.wait()
    assert process.open(_url(tmp_path)) is None


def test_a_process_gone_after_it_opened_is_a_store_error_for_each_write(
    process: StoreProcess, tmp_path: Path
) -> None:
    there = process.open(_url(tmp_path))
    assert there is not None
    there.start_run(a_run("r1"))
    process.proc.kill()
    process.proc.wait()
    with pytest.raises(
        StoreError, match=r"the database process for sqlite:///.* is gone \(it was stopped by SIGKILL\)$"
    ):
        there.record_findings("r1", [a_finding()])
    with pytest.raises(StoreError, match="is gone"):
        there.finish_run(a_run("r1"))
    there.close()  # closing what is gone is quiet


def test_runs_a_gone_process_left_running_are_marked_interrupted_when_the_process_opens(
    tmp_path: Path,
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store = Store.open(_url(tmp_path))
    store.owner_pid = gone.pid
    store.start_run(a_run("left"))
    store.close()
    process = StoreProcess.start()
    assert process is not None
    there = process.open(_url(tmp_path))
    assert there is not None
    assert there.mark_interrupted() == ["left"]
    assert there.mark_interrupted() == []  # told once
    there.close()


def test_any_site_text_in_a_finding_is_recorded_as_the_in_process_store_records_it(
    process: StoreProcess, tmp_path: Path
) -> None:
    there = process.open(_url(tmp_path, "there.db"))
    here = Store.open(_url(tmp_path, "here.db"))
    assert there is not None
    runs = iter(range(1_000_000))

    @settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        texts=st.lists(st.text(max_size=80), min_size=1, max_size=4),
        evidence=st.dictionaries(
            st.text(max_size=10), st.one_of(st.text(max_size=30), st.integers()), max_size=3
        ),
    )
    def same(texts: list[str], evidence: dict[str, object]) -> None:
        findings = []
        for i, text in enumerate(texts):
            f = Finding(kind="broken_link", severity=Severity.ERROR, url=f"{BASE}/{i}?q={text}", message=text)
            f.source, f.evidence = text, dict(evidence)
            findings.append(f.finalize("links", BASE))
        run_id = f"r{next(runs)}"
        _record(there, run_id, findings)
        _record(here, run_id, findings)
        assert _loaded(_url(tmp_path, "there.db"), run_id) == _loaded(_url(tmp_path, "here.db"), run_id)

    try:
        same()
    finally:
        there.close()
        here.close()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["crawl", "https://shop.example.com"], True),
        (["-v", "crawl", "shop.example.com", "--format", "json"], True),
        (["--config", "auditor.toml", "crawl", "https://x"], True),
        (["--config", "crawl", "run"], False),  # a config file named `crawl`
        (["run", "crawl"], False),  # an audit named `crawl`
        (["crawl", "https://x", "--no-database"], False),
        (["crawl", "--help"], False),
        (["crawl", "-h"], False),
        (["runs"], False),
        ([], False),
        (["-v"], False),
    ],
)
def test_only_a_crawl_that_records_starts_the_process(argv: list[str], expected: bool) -> None:
    assert records_a_crawl(argv) is expected


@given(
    st.lists(
        st.sampled_from(["crawl", "run", "-v", "--config", "-c", "--no-database", "-h", "x"]) | st.text(),
        max_size=6,
    )
)
def test_any_command_line_is_answered_and_only_a_recording_crawl_says_yes(argv: list[str]) -> None:
    answer = records_a_crawl(argv)
    words = list(argv)
    while words and words[0].startswith("-"):
        words = words[2:] if words[0] in ("--config", "-c") else words[1:]
    never = {"--no-database", "-h", "--help"} & set(argv)
    assert answer is bool(words and words[0] == "crawl" and not never)


def test_the_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SWITCH, "0")
    assert records_a_crawl(["crawl", "https://x"]) is False


def test_a_process_nobody_took_is_stopped() -> None:
    remote.prewarm()
    taken = remote._prewarmed
    assert taken is not None
    remote.discard_prewarmed()
    assert taken.proc.returncode == -signal.SIGKILL  # it opened nothing: not waited for
    assert remote.take_prewarmed() is None


# Runs the command as its console script does, then says what its own process loaded and its pid.
_PROBE = """
import json, os, sys
from auditor._entry import main
sys.argv = ["auditor", *sys.argv[1:]]
code = main()
loaded = [m for m in ("sqlalchemy", "auditor.store.store") if m in sys.modules]
print(json.dumps({"code": code, "loaded": loaded, "pid": os.getpid()}))
"""


@pytest.mark.parametrize("switch", ["1", "0"])
def test_a_recorded_crawl_records_the_same_run_either_way_and_loads_no_sqlalchemy_through_the_process(
    tmp_path: Path, switch: str
) -> None:
    site = Site(
        pages={"/": page("/about", "/status/404?from=home"), "/about": page("/status/410?from=about")}
    )
    with serve(site.app) as base:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, "crawl", base, "--quiet", "--no-sitemap", "--report-dir", "out"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, ENV_SWITCH: switch},
        )
    assert done.returncode == 0, done.stdout + done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["code"] == 1
    assert probe["loaded"] == ([] if switch == "1" else ["sqlalchemy", "auditor.store.store"])
    reported = json.loads((tmp_path / "out" / "report.json").read_text())
    store = Store.open(f"sqlite:///{tmp_path / 'auditor.db'}")
    try:
        [summary] = store.recent_runs()
        run = store.load_run(summary.id)
        with store._session() as s:
            from auditor.store.models import RunRow

            row = s.get(RunRow, summary.id)
            assert row is not None and row.pid == probe["pid"]
    finally:
        store.close()
    assert run is not None and run.status == RunStatus.FAIL and run.finished_at is not None
    stored = sorted((f.kind, f.url) for c in run.checks for f in c.findings)
    assert stored == sorted((f["kind"], f["url"]) for f in reported["findings"])
    assert stored == [
        ("broken_link", f"{base}/status/404?from=home"),
        ("broken_link", f"{base}/status/410?from=about"),
    ]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _crawl_argv(base: str, report_dir: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "auditor",
        "crawl",
        base,
        "--quiet",
        "--no-sitemap",
        "--report-dir",
        report_dir,
    ]


def _crawl_waiting_on_slow(site: Site, base: str, cwd: Path, **popen: Any) -> subprocess.Popen[str]:
    """`auditor crawl base` through the database's process, returned once it has fetched the 404
    and is waiting on /slow (the run is recorded as started by then)."""
    crawl = subprocess.Popen(
        _crawl_argv(base, "out"),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, ENV_SWITCH: "1"},
        **popen,
    )
    deadline = time.monotonic() + 60
    while site.fetched("/slow") == 0 or site.fetched("/status/404?from=home") == 0:
        assert crawl.poll() is None and time.monotonic() < deadline, crawl.communicate()
        time.sleep(0.05)
    return crawl


def test_a_database_process_killed_mid_crawl_loses_no_finding_and_the_run_ends_error(tmp_path: Path) -> None:
    site = Site(pages={"/": page("/status/404?from=home", "/slow")})
    with serve(site.app) as base:
        crawl = _crawl_waiting_on_slow(site, base, tmp_path)
        [child] = _children(crawl.pid)
        os.kill(child, signal.SIGKILL)
        out, err = crawl.communicate(timeout=60)
        site.pages["/"] = page()
        # The run was left `running` by a process that is gone: the next crawl says so and marks it.
        again = subprocess.run(
            _crawl_argv(base, "again"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert crawl.returncode == 3, out + err
    reported = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [(f["kind"], f["url"]) for f in reported["findings"]] == [
        ("broken_link", f"{base}/status/404?from=home")
    ]
    gone = "StoreError: the database process for sqlite:///"
    assert any(
        gone in e and e.endswith("is gone (it was stopped by SIGKILL)")
        for e in reported["run"]["internal_errors"]
    )
    assert again.returncode == 0, again.stdout + again.stderr
    first = reported["run"]["id"]
    assert f"run {first} was left running by a process that is gone; marked interrupted" in again.stderr
    runs = subprocess.run(
        [sys.executable, "-m", "auditor", "runs"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert [line.split()[3] for line in runs.stdout.splitlines() if line.startswith(first)] == ["interrupted"]


def test_ctrl_c_reaches_the_database_process_too_and_the_run_is_still_recorded_interrupted(
    tmp_path: Path,
) -> None:
    """A terminal's Ctrl-C goes to the whole process group: the database's process ignores it and
    records the interruption the command reports, with the finding made before it."""
    site = Site(pages={"/": page("/status/404?from=home", "/slow")})
    with serve(site.app) as base:
        # A group of its own, as a terminal's foreground job is.
        crawl = _crawl_waiting_on_slow(site, base, tmp_path, start_new_session=True)
        assert len(_children(crawl.pid)) == 1
        os.killpg(crawl.pid, signal.SIGINT)
        out, err = crawl.communicate(timeout=60)
    assert crawl.returncode == 130, out + err
    store = Store.open(f"sqlite:///{tmp_path / 'auditor.db'}")
    try:
        [summary] = store.recent_runs()
        run = store.load_run(summary.id)
    finally:
        store.close()
    assert run is not None and run.status == RunStatus.INTERRUPTED and run.finished_at is not None
    assert [(f.kind, f.url) for c in run.checks for f in c.findings] == [
        ("broken_link", f"{base}/status/404?from=home")
    ]


@pytest.mark.parametrize(
    ("kinds", "alerts", "through_the_process"),
    [
        (["crawl"], False, True),
        (["crawl"], True, False),  # a run that alerts processes incidents: its own Store
        (["crawl", "scenario"], False, False),  # a run that may pay keeps payment marks: its own Store
    ],
)
def test_only_a_run_that_only_crawls_and_alerts_no_one_records_through_the_process(
    tmp_path: Path, kinds: list[str], alerts: bool, through_the_process: bool
) -> None:
    from auditor import app, config

    checks = {f"c{i}": {"kind": kind} for i, kind in enumerate(kinds)}
    if "scenario" in kinds:
        checks[f"c{kinds.index('scenario')}"]["scenario"] = "guest-checkout"
    settings = config.from_dict(
        {
            "database_url": _url(tmp_path),
            "sites": {"shop": {"base_url": "http://127.0.0.1:9/"}},
            "checks": checks,
            "audits": {"a": {"checks": list(checks)}},
        },
        environ={},
    )
    remote.prewarm()
    started = remote._prewarmed
    assert started is not None
    store = app._open_run_store(settings, "a", None, alerts=alerts)
    try:
        assert isinstance(store, RemoteStore) is through_the_process
        assert remote.take_prewarmed() is None  # taken either way
        if not through_the_process:
            assert started.proc.returncode is not None  # stopped, not left behind
    finally:
        store.close()
    assert started.proc.returncode == 0 if through_the_process else started.proc.returncode is not None


def test_the_crawler_is_imported_while_the_database_process_still_imports_sqlalchemy(tmp_path: Path) -> None:
    """The overlap is the point of the process: the command imports the crawler (aiohttp) before it
    waits for the database to open, not after. A fresh interpreter, so that nothing is imported yet."""
    code = f"""
import sys
from auditor import app, config
from auditor.store import remote
settings = config.from_dict({{
    "database_url": "sqlite:///{tmp_path}/a.db",
    "sites": {{"shop": {{"base_url": "http://127.0.0.1:9/"}}}},
    "checks": {{"links": {{"kind": "crawl"}}}},
    "audits": {{"a": {{"checks": ["links"]}}}},
}}, environ={{}})
assert "aiohttp" not in sys.modules  # validating the config loads no crawler
asked = []
opening = remote.StoreProcess.open
def open(self, url):
    asked.append("aiohttp" in sys.modules)
    return opening(self, url)
remote.StoreProcess.open = open
remote.prewarm()
store = app._open_run_store(settings, "a", None, alerts=False)
assert isinstance(store, remote.RemoteStore)
store.close()
print(asked)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[True]"]


# ------------------------------------------------------------ an open asked for before it is needed


def test_an_open_asked_for_early_records_what_the_in_process_store_records(
    process: StoreProcess, tmp_path: Path
) -> None:
    url = _url(tmp_path)
    process.request_open(url)
    time.sleep(0.05)  # the command's own work meanwhile (it imports the crawler)
    there = process.open(url)
    assert there is not None
    _record(there, "r1", [a_finding()])
    there.close()
    here = Store.open(_url(tmp_path, "here.db"))
    _record(here, "r1", [a_finding()])
    here.close()
    assert _loaded(url, "r1") == _loaded(_url(tmp_path, "here.db"), "r1")


def test_a_database_that_cannot_open_asked_for_early_raises_what_the_store_raises(tmp_path: Path) -> None:
    url, in_process = _unopenable(tmp_path)
    process = StoreProcess.start()
    assert process is not None
    process.request_open(url)
    with pytest.raises(StoreError) as through:
        process.open(url)
    assert str(through.value) == in_process
    assert process.proc.returncode is not None


@pytest.mark.parametrize("when", ["before the request", "after the request"])
def test_a_process_gone_around_an_early_open_lets_the_command_open_its_own_store(
    process: StoreProcess, tmp_path: Path, when: str
) -> None:
    if when == "before the request":
        process.proc.kill()
        process.proc.wait()
    process.request_open(_url(tmp_path))
    if when == "after the request":
        process.proc.kill()
        process.proc.wait()
    assert process.open(_url(tmp_path)) is None


def test_no_other_request_may_jump_an_early_opens_answer(process: StoreProcess, tmp_path: Path) -> None:
    process.request_open(_url(tmp_path))
    with pytest.raises(RuntimeError, match="open\\(\\) reads its answer"):
        process.ask("close")
    assert process.open(_url(tmp_path)) is not None

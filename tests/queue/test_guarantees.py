"""Issue 14's guarantees, each with real `auditor worker` processes, a real broker (Redis) and
PostgreSQL: a queued run runs once on some worker; a second copy of its task runs nothing; a
worker SIGKILLed while paying never pays twice and its run is marked interrupted within a minute
by another worker; SIGTERM interrupts a run that overruns the stop limit and exits cleanly; a run
that outlives the broker's visibility timeout is not handed to a second worker.

Every test drives `auditor worker` as a user would (`--config`, `--concurrency`); the workers
share one PostgreSQL database made for this module and a queue name of their own."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from auditor.config import load
from auditor.queue.enqueue import celery_app, enqueue
from auditor.queue.state import QueueState
from auditor.results import RunStatus
from auditor.store import Store
from tests.queue.test_enqueue import drain

DEADLINE_S = 90.0


def wait_for(
    what: str, ok: Callable[[], bool], timeout_s: float = DEADLINE_S, logs: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:g} s\n{logs()}")
        time.sleep(0.2)


class SlowSite:
    """A loopback shop whose pages form a chain, each answered after `delay_s`: a crawl of it lasts
    about pages x delay_s, however many connections the crawler opens."""

    def __init__(self, pages: int, delay_s: float) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/").removeprefix("p") or "0"
                if not name.isdigit():  # robots.txt, sitemap.xml, favicon.ico
                    self.send_error(404)
                    return
                time.sleep(site.delay_s)
                n = int(name)
                nxt = f'<a href="/p{n + 1}">next</a>' if n + 1 < site.pages else ""
                body = f"<html><body><h1>page {n}</h1>{nxt}</body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.pages, self.delay_s = pages, delay_s
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Worker:
    """One `auditor worker` process (its own process group, so a SIGKILL takes its children too)."""

    def __init__(self, config: Path, log: Path, concurrency: int = 1) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "auditor",
                "worker",
                "--config",
                str(config),
                "--concurrency",
                str(concurrency),
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[Any]:
    """Write a config for this test's sites and start workers on demand; everything stops after."""
    workers: list[Worker] = []
    queue = f"auditor-test-{secrets.token_hex(4)}"
    store = Store.open(pg_url)
    with store.engine.begin() as c:
        from auditor.store.models import Base

        for table in reversed(Base.metadata.sorted_tables):
            c.execute(table.delete())

    class Cluster:
        def __init__(self) -> None:
            self.store, self.queue, self.config = store, queue, tmp_path / "auditor.toml"

        def configure(self, body: str, **queue_keys: Any) -> Any:
            keys = {"heartbeat_interval_s": 1, "stale_after_s": 4, "stop_timeout_s": 3, **queue_keys}
            extra = "".join(f"{k} = {v}\n" for k, v in keys.items())
            self.config.write_text(
                f'database_url = "{pg_url}"\nreport_dir = "{tmp_path / "reports"}"\n\n{body}\n'
                f'[queue]\nbroker_url = "{redis_url}"\nqueue_name = "{queue}"\n{extra}',
                encoding="utf-8",
            )
            self.settings = load(self.config)
            return self.settings

        def start(self, concurrency: int = 1) -> Worker:
            w = Worker(self.config, tmp_path / f"worker-{len(workers)}.log", concurrency)
            workers.append(w)
            return w

        def live(self) -> int:
            return len(QueueState(store).workers(live_within_s=4))

        def logs(self) -> str:
            return "\n".join(f"--- {w.log.name}\n{w.text()}" for w in workers)

        def status(self, run_id: str) -> str | None:
            run = store.load_run(run_id)
            return str(run.status) if run else None

    try:
        yield Cluster()
    finally:
        for w in workers:
            w.stop()
        drain(redis_url, queue)
        store.close()


CRAWL = """
[sites.shop]
base_url = "{url}"
[checks.links]
kind = "crawl"
external = false
[audits.nightly]
site = "shop"
checks = ["links"]
"""


def test_queued_runs_run_once_each_on_the_workers_and_a_second_copy_runs_nothing(cluster: Any) -> None:
    site = SlowSite(pages=3, delay_s=0.05)
    try:
        settings = cluster.configure(CRAWL.format(url=site.url))
        cluster.start(concurrency=2)
        wait_for("two worker processes beating", lambda: cluster.live() >= 3, logs=cluster.logs)
        ids = [enqueue(settings, cluster.store, audit="nightly", trigger="test") for _ in range(4)]
        # A second copy of the first task, as a broker's redelivery would hand it out.
        celery_app(settings.model.queue).send_task(
            "auditor.run_audit",
            kwargs={
                "run_id": ids[0],
                "audit": "nightly",
                "site": "shop",
                "trigger": "test",
                "queued_at": None,
            },
            queue=cluster.queue,
        )
        wait_for(
            "every run finished",
            lambda: all(cluster.status(i) == "pass" for i in ids),
            logs=cluster.logs,
        )
        time.sleep(2)  # the duplicate is taken too
        runs = [cluster.store.load_run(i) for i in ids]
        assert all(r is not None and r.status == RunStatus.PASS for r in runs)
        summaries = {s.id: s for s in cluster.store.recent_runs(limit=20)}
        assert all(summaries[i].worker and summaries[i].worker.startswith("auditor@") for i in ids)
        logs = cluster.logs()
        assert logs.count(f"as run {ids[0]}") == 1, logs
        assert f"run {ids[0]} is not queued any more" in logs, logs
    finally:
        site.close()


PURCHASE = """
[sites.demo]
base_url = "{url}"
allow_orders = true
[checks.checkout]
kind = "scenario"
scenario = "guest-checkout"
paths = ["bundled"]
timeout_s = 120
[audits.buy]
site = "demo"
checks = ["checkout"]
"""


def test_a_worker_killed_while_paying_never_pays_twice_and_its_run_is_interrupted(cluster: Any) -> None:
    from auditor.demo import DemoShop
    from auditor.demo.faults import parse_faults

    with DemoShop(faults=parse_faults(["slow-gateway=60"], environ={}), smtp_port=9) as shop:
        settings = cluster.configure(PURCHASE.format(url=shop.base_url))
        doomed = cluster.start()
        wait_for("the first worker beating", lambda: cluster.live() >= 2, logs=cluster.logs)
        run_id = enqueue(settings, cluster.store, audit="buy", trigger="test")
        # The durable payment mark is written before the pay click: once it is there, the charge
        # is on its way and the worker is killed mid-scenario.
        wait_for(
            "the payment step to start",
            lambda: bool(cluster.store.marks_for_run(run_id)),
            timeout_s=120,
            logs=cluster.logs,
        )
        wait_for("the charge", lambda: len(shop.app.state.shop.gateway.all_charges()) == 1, logs=cluster.logs)
        doomed.signal(signal.SIGKILL)
        doomed.proc.wait(timeout=30)
        killed_at = time.monotonic()
        cluster.start()
        wait_for(
            "the killed worker's run marked interrupted",
            lambda: cluster.status(run_id) == "interrupted",
            timeout_s=60,
            logs=cluster.logs,
        )
        assert time.monotonic() - killed_at < 60
        time.sleep(3)
        assert len(shop.app.state.shop.gateway.all_charges()) == 1
        # Nothing ran it again, and nothing is waiting to.
        assert cluster.logs().count(f"as run {run_id}") == 1, cluster.logs()
        assert drain(cluster.settings.model.queue.resolved_broker_url(), cluster.queue) == []
        assert [s.id for s in cluster.store.recent_runs(limit=10)] == [run_id]
        # The next run goes on as usual on the live worker.
        settings = cluster.configure(CRAWL.format(url=shop.base_url))
        nxt = enqueue(settings, cluster.store, audit="nightly", trigger="test")
        wait_for("the next run", lambda: cluster.status(nxt) in ("pass", "warn", "fail"), logs=cluster.logs)


TWO_SITES = """
[sites.quick]
base_url = "{quick}"
[sites.slow]
base_url = "{slow}"
[checks.links]
kind = "crawl"
external = false
[audits.quick]
site = "quick"
checks = ["links"]
[audits.slow]
site = "slow"
checks = ["links"]
"""


def test_sigterm_lets_a_short_run_finish_and_interrupts_one_that_overruns(cluster: Any) -> None:
    quick = SlowSite(pages=4, delay_s=0.5)  # about 2 s of crawl: ends within the stop limit
    slow = SlowSite(pages=60, delay_s=0.5)  # about 30 s: overruns it
    try:
        settings = cluster.configure(TWO_SITES.format(quick=quick.url, slow=slow.url), stop_timeout_s=5)
        worker = cluster.start(concurrency=2)
        wait_for("the worker beating", lambda: cluster.live() >= 3, logs=cluster.logs)
        long_id = enqueue(settings, cluster.store, audit="slow", trigger="test")
        short_id = enqueue(settings, cluster.store, audit="quick", trigger="test")
        wait_for(
            "both runs to start",
            lambda: cluster.status(long_id) == cluster.status(short_id) == "running",
            logs=cluster.logs,
        )
        sent = time.monotonic()
        # The whole process group, as systemd sends it: the children get SIGTERM too.
        worker.signal(signal.SIGTERM)
        assert worker.proc.wait(timeout=60) == 0, cluster.logs()
        assert time.monotonic() - sent < 5 + 15, cluster.logs()
        assert cluster.status(short_id) == "pass", cluster.logs()
        assert cluster.status(long_id) == "interrupted", cluster.logs()
        run = cluster.store.load_run(long_id)
        assert run is not None and run.report_dir and (Path(run.report_dir) / "report.json").exists()
        assert [c.name for c in run.checks] == ["links"], "the interrupted check's result is kept"
        workers = QueueState(cluster.store).workers()
        assert len(workers) == 3 and all(w.state == "stopped" for w in workers), workers
    finally:
        quick.close()
        slow.close()


def test_a_run_longer_than_the_visibility_timeout_is_not_handed_to_a_second_worker(cluster: Any) -> None:
    site = SlowSite(pages=16, delay_s=0.5)  # about 8 s of crawl, the visibility timeout is 2 s
    try:
        settings = cluster.configure(CRAWL.format(url=site.url), visibility_timeout_s=2)
        cluster.start()
        cluster.start()
        wait_for("two workers beating", lambda: cluster.live() >= 4, logs=cluster.logs)
        run_id = enqueue(settings, cluster.store, audit="nightly", trigger="test")
        wait_for(
            "the run to finish", lambda: cluster.status(run_id) == "pass", timeout_s=120, logs=cluster.logs
        )
        time.sleep(3)
        logs = cluster.logs()
        assert logs.count(f"as run {run_id}") == 1, logs
        assert "is not queued any more" not in logs, logs
    finally:
        site.close()

"""Issue 14's guarantees, each with real `auditor worker` processes, a real broker (Redis) and
PostgreSQL: a queued run runs once on some worker; a second copy of its task runs nothing; a
worker SIGKILLed while paying never pays twice and its run is marked interrupted within a minute
by another worker; SIGTERM interrupts a run that overruns the stop limit and exits cleanly; a run
that outlives the broker's visibility timeout is not handed to a second worker.

Every test drives `auditor worker` as a user would (`--config`, `--concurrency`); the workers
share one PostgreSQL database made for this module and a queue name of their own."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from auditor.queue.enqueue import celery_app, enqueue
from auditor.queue.state import QueueState
from auditor.results import RunStatus
from tests.queue.cluster import SlowSite, wait_for
from tests.queue.test_enqueue import drain

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
        wait_for(
            "the duplicate taken and refused",
            lambda: f"run {ids[0]} is not queued any more" in cluster.logs(),
            logs=cluster.logs,
        )
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


MAIL = """
[sites.demo]
base_url = "{url}"
allow_orders = true
mailbox = {{ kind = "sink", host = "127.0.0.1", port = {smtp} }}
[checks.checkout]
kind = "scenario"
scenario = "guest-checkout"
paths = ["bundled"]
[checks.confirmation-email]
kind = "email"
needs = ["checkout"]
ignore_links = ["/download/"]
deadline_s = 20
soft_limit_s = 3
hard_limit_s = 15
settle_s = 2
[audits.buy]
site = "demo"
checks = ["checkout", "confirmation-email"]
"""


def test_a_worker_reads_the_mail_the_separate_mail_sink_service_stored(cluster: Any, tmp_path: Path) -> None:
    """The agency set-up: `auditor mail-sink` runs as its own process writing to PostgreSQL; a
    worker's email check finds the purchase's confirmation there (it starts no sink of its own)."""
    from auditor.demo import DemoShop
    from tests.queue.conftest import free_port

    smtp = free_port()
    sink_log = tmp_path / "mail-sink.log"
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditor",
            "mail-sink",
            "--port",
            str(smtp),
            "--database-url",
            cluster.store.url,
        ],
        stdout=sink_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for("the mail sink listening", lambda: _listens(smtp), logs=lambda: sink_log.read_text())
        with DemoShop(smtp_port=smtp) as shop:
            settings = cluster.configure(MAIL.format(url=shop.base_url, smtp=smtp))
            cluster.start()
            run_id = enqueue(settings, cluster.store, audit="buy", trigger="test")
            wait_for(
                "the purchase and its email checked",
                lambda: cluster.status(run_id) not in ("queued", "running"),
                timeout_s=150,
                logs=cluster.logs,
            )
            run = cluster.store.load_run(run_id)
            assert run is not None
            assert {c.name: str(c.derived_status()) for c in run.checks} == {
                "checkout": "pass",
                "confirmation-email": "pass",
            }, cluster.logs() + sink_log.read_text()
            assert run.status == RunStatus.PASS
        assert sink.poll() is None, "the sink service kept running"
    finally:
        sink.terminate()
        sink.wait(timeout=30)


def _listens(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_a_worker_rides_out_a_broker_restart_and_takes_the_next_run(cluster: Any, private_redis: Any) -> None:
    """The broker restarted mid-night (empty: no persistence) while a run goes: the run finishes, the
    worker reconnects by itself and runs what is queued after, without a restart of its own."""
    site = SlowSite(pages=12, delay_s=0.5)  # about 6 s of crawl
    try:
        settings = cluster.configure(CRAWL.format(url=site.url), broker_url=private_redis.url)
        worker = cluster.start()
        first = enqueue(settings, cluster.store, audit="nightly", trigger="test")
        wait_for("the first run to start", lambda: cluster.status(first) == "running", logs=cluster.logs)
        private_redis.stop()
        time.sleep(2)  # the worker notices the lost connection and starts retrying
        private_redis.start()
        wait_for("the first run", lambda: cluster.status(first) == "pass", logs=cluster.logs)
        site.delay_s = 0.0
        second = enqueue(settings, cluster.store, audit="nightly", trigger="test")
        wait_for("the run after the restart", lambda: cluster.status(second) == "pass", logs=cluster.logs)
        assert worker.proc.poll() is None, cluster.logs()
        assert cluster.live() >= 2, "the worker's processes still beat"
        assert "CPendingDeprecationWarning" not in cluster.logs()
    finally:
        site.close()

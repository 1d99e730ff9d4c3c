"""`auditor worker`: run queued audits, one per task, on a Celery prefork worker.

The main process is Celery's: it takes tasks off the broker and hands each to a child process.
Every child (`_Child`, made by `worker_process_init` right after the fork) keeps, for its whole
life:

- its own connection pool to the shared store (never the parent's: a forked connection is shared
  with the parent's socket);
- one asyncio loop in a thread, and on it one Chromium (`SharedBrowser`) that every run of this
  child uses, each scenario in a fresh context (launching a browser costs about a second per run);
- a watch thread that records a heartbeat every `[queue] heartbeat_interval_s` (state, and the
  run it runs) and enforces the stop limit.

A task is `auditor.run_audit(run_id, audit, site, trigger, queued_at)`. It is acknowledged when a
child starts it (early: a task that may place an order never runs twice), then the child claims the
queued run in the store (`QueueState.claim_run`): a second copy of the task (a redelivery, a
retry, a duplicate publish) finds the run no longer queued and does nothing. A worker killed
mid-run loses the run: the other workers' main processes, which reap on every heartbeat, mark it
`interrupted` once its heartbeats stop; the durable payment mark keeps any retry from paying again.

Stopping. On SIGTERM (to the main process only, as `docker stop` does, or to the whole process
group, as systemd does) the main process stops taking tasks and writes the stop deadline (now +
`[queue] stop_timeout_s`) to a file every child watches; a child that receives SIGTERM itself
sets the same deadline. A run still going at the deadline is cancelled: it ends `interrupted`, with
its findings so far stored and its report written. A task that reaches a child after the stop
began is put back on the queue, unclaimed, for another worker. Then every process records that it
stopped and the worker exits 0.

The config file is read again before each task (a site added to `sites/*.toml` needs no restart);
a config that no longer loads leaves the last good one in use, with a warning.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.config import Settings
from auditor.errors import AuditorError, StoreError, UsageError
from auditor.queue.config import QueueConfig
from auditor.queue.enqueue import TASK

log = logging.getLogger("auditor.queue.worker")

STOP_FILE_ENV = "AUDITOR_WORKER_STOP_FILE"
# After the stop deadline, a cancelled run has this long to store what it found and write its
# report; a child still busy then records itself stopped (its run is reaped) and exits.
HARD_GRACE_S = 30.0
# How often the watch thread looks at the clock and the stop file.
TICK_S = 0.2
# A task whose claim failed because the store was unreachable is put back this often, at most.
CLAIM_RETRY_S = 30.0
CLAIM_ATTEMPTS = 10


def process_name() -> str:
    """This process's name in the store's worker table: auditor@HOST:PID."""
    return f"auditor@{socket.gethostname()}:{os.getpid()}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@dataclass
class _Job:
    run_id: str
    audit: str
    site: str
    task: asyncio.Task[Any] | None = None
    cancelled: bool = False


class _Config:
    """The worker's config, read again before each task; the last good one when it stops loading."""

    def __init__(self, path: Path | None, settings: Settings) -> None:
        self.path = path
        self.settings = settings
        self._warned: str | None = None

    def now(self) -> Settings:
        if self.path is None:
            return self.settings
        from auditor.config import load

        try:
            self.settings = load(self.path)
            self._warned = None
        except (AuditorError, OSError, ValueError) as e:
            text = str(e)
            if text != self._warned:
                log.warning(
                    "%s no longer loads (%s); this worker goes on with the last good config", self.path, e
                )
                self._warned = text
        return self.settings


class _Child:
    """What one prefork child keeps between tasks (see the module's docstring)."""

    def __init__(self, config: _Config, queue: QueueConfig, store_url: str) -> None:
        from auditor.browser.launch import SharedBrowser
        from auditor.queue.state import QueueState
        from auditor.store import Store

        self.config = config
        self.queue = queue
        self.name = process_name()
        self.store = Store.open(store_url, migrate=False)
        self.state = QueueState(self.store)
        self.browser = SharedBrowser(config.settings.model.browser)
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="auditor-loop", daemon=True)
        self._loop_thread.start()
        self.job: _Job | None = None
        self.deadline: float | None = None  # time.time() at which a running run is cancelled
        self._done = threading.Event()
        self._beat_now = threading.Event()
        self._watch = threading.Thread(target=self._watch_loop, name="auditor-watch", daemon=True)
        self._beat()
        self._watch.start()

    # -- stopping -------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        self._read_stop_file()
        return self.deadline is not None

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        # billiard makes SIGTERM exit a child at once, so a process-group SIGTERM (systemd's)
        # would kill a run mid-step; while a run goes, it gets the stop limit instead, as a
        # SIGTERM to the main process gives. An idle child keeps billiard's handler and exits.
        if self.deadline is None:
            self.deadline = time.time() + self.queue.stop_timeout_s
            self._beat_now.set()

    def _read_stop_file(self) -> None:
        if self.deadline is not None:
            return
        path = os.environ.get(STOP_FILE_ENV)
        if not path:
            return
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            return
        try:
            self.deadline = float(text)
        except ValueError:
            self.deadline = time.time() + self.queue.stop_timeout_s
        self._beat_now.set()

    # -- heartbeats and the stop limit ----------------------------------------------------------

    def _beat(self) -> None:
        job = self.job
        state = "stopping" if self.deadline is not None else ("running" if job else "idle")
        try:
            self.state.worker_beat(
                self.name,
                state=state,
                run_id=job.run_id if job else None,
                audit=job.audit if job else None,
                site=job.site if job else None,
            )
        except Exception as e:  # a database blip: the next beat tries again
            log.warning("worker %s could not record its heartbeat: %s", self.name, e)

    def _watch_loop(self) -> None:
        next_beat = time.monotonic() + self.queue.heartbeat_interval_s
        while not self._done.is_set():
            self._beat_now.wait(TICK_S)
            if self._done.is_set():
                return
            self._read_stop_file()
            if self._beat_now.is_set() or time.monotonic() >= next_beat:
                self._beat_now.clear()
                self._beat()
                next_beat = time.monotonic() + self.queue.heartbeat_interval_s
            self._enforce_deadline()

    def _enforce_deadline(self) -> None:
        deadline, job = self.deadline, self.job
        if deadline is None or job is None:
            return
        now = time.time()
        if now >= deadline and not job.cancelled and job.task is not None:
            job.cancelled = True
            log.warning(
                "worker %s: run %s (audit %r on %r) is still going after the stop limit of %g s; "
                "interrupting it",
                self.name,
                job.run_id,
                job.audit,
                job.site,
                self.queue.stop_timeout_s,
            )
            self.loop.call_soon_threadsafe(job.task.cancel)
        elif now >= deadline + HARD_GRACE_S:
            log.error(
                "worker %s: run %s did not stop within %g s of being interrupted; recording it "
                "interrupted and exiting",
                self.name,
                job.run_id,
                HARD_GRACE_S,
            )
            try:
                self.state.worker_stopped(self.name)
                self.state.reap(self.queue.stale_after())
            finally:
                os._exit(1)

    # -- tasks ----------------------------------------------------------------------------------

    def handle(self, kwargs: dict[str, Any]) -> str:
        run_id = str(kwargs.get("run_id") or "")
        audit = str(kwargs.get("audit") or "")
        site = str(kwargs.get("site") or "")
        if not run_id or not audit:
            log.error("worker %s got a task without run_id or audit (%r): ignored", self.name, kwargs)
            return "invalid"
        if self.stopping:
            self._put_back(kwargs, countdown=0)
            log.warning(
                "worker %s is stopping: run %s goes back on the queue for another worker", self.name, run_id
            )
            return "requeued"
        try:
            claimed = self.state.claim_run(run_id, worker=self.name)
        except StoreError as e:
            attempt = int(kwargs.get("attempt") or 0) + 1
            if attempt >= CLAIM_ATTEMPTS:
                log.error(
                    "worker %s could not claim run %s after %d tries (%s): it stays queued",
                    self.name,
                    run_id,
                    attempt,
                    e,
                )
                return "unclaimed"
            log.warning(
                "worker %s could not claim run %s (%s); trying again in %g s",
                self.name,
                run_id,
                e,
                CLAIM_RETRY_S,
            )
            self._put_back({**kwargs, "attempt": attempt}, countdown=CLAIM_RETRY_S)
            return "retry"
        if not claimed:
            log.warning(
                "worker %s: run %s is not queued any more (a second copy of its task, or a run taken "
                "or removed already): nothing to do",
                self.name,
                run_id,
            )
            return "duplicate"
        return self._run(run_id, audit, site, str(kwargs.get("trigger") or "manual"), kwargs.get("queued_at"))

    def _put_back(self, kwargs: dict[str, Any], countdown: float) -> None:
        from auditor.queue.enqueue import RETRY_POLICY, celery_app

        celery_app(self.queue).send_task(
            TASK,
            kwargs=kwargs,
            queue=self.queue.queue_name,
            countdown=countdown or None,
            retry=True,
            retry_policy=RETRY_POLICY,
        )

    def _run(self, run_id: str, audit: str, site: str, trigger: str, queued_at: Any) -> str:
        from auditor.app import describe_error
        from auditor.queue import metrics

        self.job = _Job(run_id, audit, site)
        self._beat_now.set()
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        started = datetime.now(UTC)
        at = _parse_time(queued_at)
        metrics.run_started(audit, site, (started - at).total_seconds() if at else None)
        log.info("worker %s running audit %r for site %r as run %s", self.name, audit, site, run_id)
        try:
            settings = self.config.now()
            future = asyncio.run_coroutine_threadsafe(
                self._audit(settings, run_id, audit, site, trigger), self.loop
            )
            try:
                run = future.result()
            except (concurrent.futures.CancelledError, asyncio.CancelledError):
                run = self.store.load_run(run_id)
            except AuditorError as e:
                run = self._record_error(run_id, audit, site, trigger, settings, started, describe_error(e))
            except Exception as e:
                log.error("run %s stopped on an internal error:\n%s", run_id, traceback.format_exc())
                run = self._record_error(
                    run_id,
                    audit,
                    site,
                    trigger,
                    settings,
                    started,
                    f"internal error: {type(e).__name__}: {e}",
                )
            if run is not None:
                metrics.run_finished(run)
                log.info("worker %s finished run %s: %s", self.name, run_id, run.status)
                return str(run.status)
            return "unknown"
        finally:
            self.job = None
            self._beat_now.set()
            signal.signal(signal.SIGTERM, previous)

    async def _audit(self, settings: Settings, run_id: str, audit: str, site: str, trigger: str) -> Any:
        from auditor.app import Overrides, run_audit_async

        assert self.job is not None
        self.job.task = asyncio.current_task()
        if self.deadline is not None and time.time() >= self.deadline:
            self.job.cancelled = True
            raise asyncio.CancelledError
        self.browser.forget_failure()
        return await run_audit_async(
            settings,
            audit,
            trigger=trigger,
            overrides=Overrides(alerts=True),
            run_id=run_id,
            store=self.store,
            site=site or None,
            browser=self.browser,
        )

    def _record_error(
        self,
        run_id: str,
        audit: str,
        site: str,
        trigger: str,
        settings: Settings,
        started: datetime,
        why: str,
    ) -> Any:
        """The claimed run could not start (its audit or site is unknown to this worker's config, a
        check cannot be built): record it `error` with the reason, so it never sits `running`."""
        from auditor.results import RunResult, RunStatus
        from auditor.runner import internal_error

        base_url = settings.sites[site].base_url if site in settings.sites else ""
        run = RunResult(
            id=run_id, audit=audit, site=site, base_url=base_url, trigger=trigger, started_at=started
        )
        internal_error(run, why)
        run.status = RunStatus.ERROR
        run.finished_at = datetime.now(UTC)
        log.error("worker %s: run %s could not run: %s", self.name, run_id, why)
        try:
            self.store.start_run(run)
        except Exception as e:
            log.error("worker %s could not record run %s as error: %s", self.name, run_id, e)
            return run
        try:
            # The reason is in report.json (`internal_errors`), as for any run that stopped early.
            from auditor.report import write_reports

            run.report_dir = settings.report_root() / run_id
            run.report_dir.mkdir(parents=True, exist_ok=True)
            write_reports(run, run.report_dir, store=self.store)
        except Exception as e:
            log.error("worker %s could not write the report of run %s: %s", self.name, run_id, e)
        try:
            self.store.finish_run(run)
        except Exception as e:
            log.error("worker %s could not record run %s as error: %s", self.name, run_id, e)
        return run

    # -- the child's end ------------------------------------------------------------------------

    def close(self) -> None:
        self._done.set()
        self._beat_now.set()
        try:
            asyncio.run_coroutine_threadsafe(self.browser.close(), self.loop).result(timeout=15)
        except Exception as e:
            log.warning("worker %s could not close its browser cleanly: %s", self.name, e)
        self.loop.call_soon_threadsafe(self.loop.stop)
        try:
            self.state.worker_stopped(self.name)
        except Exception as e:
            log.warning("worker %s could not record that it stopped: %s", self.name, e)
        self.store.close()


class _Main:
    """The worker's main process: its own heartbeat (state `main`), the reaping of lost workers'
    runs on every beat, the stop deadline for the children, the health port."""

    def __init__(self, queue: QueueConfig, store: Any, stop_file: Path) -> None:
        from auditor.queue.state import QueueState

        self.queue = queue
        self.state = QueueState(store)
        self.stop_file = stop_file
        self.name = process_name()
        self.stopping = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="auditor-main-beat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def beat(self) -> None:
        try:
            self.state.worker_beat(self.name, state="stopping" if self.stopping else "main")
        except Exception as e:
            log.warning("worker %s could not record its heartbeat: %s", self.name, e)
        try:
            for run_id in self.state.reap(self.queue.stale_after()):
                log.warning("run %s was left running by a worker that is gone; marked interrupted", run_id)
        except Exception as e:
            log.warning("worker %s could not look for lost workers: %s", self.name, e)

    def _loop(self) -> None:
        while not self._done.wait(self.queue.heartbeat_interval_s):
            self.beat()

    def shutting_down(self) -> None:
        """SIGTERM (or SIGINT) reached Celery's main process: tell the children the deadline."""
        if self.stopping:
            return
        self.stopping = True
        deadline = time.time() + self.queue.stop_timeout_s
        try:
            self.stop_file.write_text(f"{deadline:.3f}\n", encoding="utf-8")
        except OSError as e:
            log.error("could not write the stop file %s: %s", self.stop_file, e)
        log.warning(
            "worker %s stopping: no new tasks; a running audit has %g s to finish, then it is interrupted",
            self.name,
            self.queue.stop_timeout_s,
        )

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        try:
            self.state.worker_stopped(self.name)
        except Exception as e:
            log.warning("worker %s could not record that it stopped: %s", self.name, e)


_child: _Child | None = None


def make_app(queue: QueueConfig) -> Any:
    """The Celery app with the `auditor.run_audit` task, consuming `queue.queue_name`."""
    from auditor.queue.celery_app import make_celery

    app = make_celery(queue)
    app.conf.task_default_queue = queue.queue_name
    if queue.resolved_broker_url().startswith(("redis://", "rediss://")):
        # Fetch a task only when a child is free: a task must not wait behind a long crawl on
        # this worker while another worker is idle (Redis only; RabbitMQ's prefetch of one does).
        app.conf.worker_disable_prefetch = True

    @app.task(name=TASK, acks_late=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_audit(**kwargs: Any) -> str:
        if _child is None:
            raise RuntimeError("auditor.run_audit runs in an `auditor worker` process only")
        return _child.handle(kwargs)

    return app


def serve(
    settings: Settings,
    *,
    config_path: Path | None = None,
    concurrency: int | None = None,
    health_port: int | None = None,
    health_host: str = "127.0.0.1",
    loglevel: str = "INFO",
) -> int:
    """Run the worker until SIGTERM or SIGINT; returns its exit code."""
    from celery import signals  # type: ignore[import-untyped]

    from auditor.app import open_store
    from auditor.queue import metrics
    from auditor.queue.enqueue import masked, queue_config

    queue = queue_config(settings)
    try:
        url = queue.resolved_broker_url()
    except ValueError as e:
        raise UsageError(f"[queue] broker_url: {e}") from None
    processes = concurrency if concurrency is not None else (os.cpu_count() or 1)
    if processes < 1:
        raise UsageError(f"--concurrency {processes}: a worker needs at least one process")
    health = None
    if health_port is not None:
        from auditor.ops.health import HealthServer

        # First, so that a port in use is a clear error before anything is made to clean up
        # (`main` is looked up only when a probe comes).
        health = HealthServer(health_port, health_host, alive=lambda: not main.stopping)
        health.start()
    try:
        store = open_store(settings, notice=log.warning)
    except BaseException:
        if health is not None:
            health.stop()
        raise
    store_url = store.url
    stop_file = Path(tempfile.mkdtemp(prefix="auditor-worker-")) / "stop"
    os.environ[STOP_FILE_ENV] = str(stop_file)
    metrics_dir = metrics.prepare_multiprocess()
    main = _Main(queue, store, stop_file)
    config = _Config(config_path, settings)

    def child_init(**_: Any) -> None:
        global _child
        # The parent's pooled connections came along with the fork: let go of them unclosed.
        store.engine.dispose(close=False)
        _child = _Child(config, queue, store_url)

    def child_shutdown(**_: Any) -> None:
        global _child
        if _child is not None:
            _child.close()
            _child = None
        metrics.mark_process_dead(os.getpid())

    def ready(**_: Any) -> None:
        main.beat()
        main.start()
        log.warning(
            "worker %s ready: %d process(es) taking audits from queue %r on %s%s",
            main.name,
            processes,
            queue.queue_name,
            masked(url),
            f"; health on http://{health_host}:{health.port}/healthz" if health else "",
        )

    def shutting_down(**_: Any) -> None:
        main.shutting_down()

    handlers = [
        (signals.worker_process_init, child_init),
        (signals.worker_process_shutdown, child_shutdown),
        (signals.worker_ready, ready),
        (signals.worker_shutting_down, shutting_down),
    ]
    for sig, handler in handlers:
        sig.connect(handler, weak=False)
    app = make_app(queue)
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        "--pool=prefork",
        f"--concurrency={processes}",
        f"--queues={queue.queue_name}",
        f"--hostname=auditor-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    code = 0
    try:
        app.worker_main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        main.shutting_down()  # a worker that ends without a signal (a lost broker) stops the same way
        main.stop()
        if health is not None:
            health.stop()
        for sig, handler in handlers:
            sig.disconnect(handler)
        metrics.cleanup_multiprocess(metrics_dir)
        stop_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            stop_file.parent.rmdir()
        os.environ.pop(STOP_FILE_ENV, None)
        store.close()
    return code

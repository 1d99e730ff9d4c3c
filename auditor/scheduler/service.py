"""`auditor schedule`: runs the config's audits on their cron schedules until told to stop.

One APScheduler job per audit with a `schedule`, all in one asyncio loop. A job does not run the
audit itself: it hands it to `AuditScheduler.fire`, which keeps the running audits, so that a fire
while the same audit still runs is skipped and logged in our words (never queued), and so that a
stop can wait for the running audits and cancel the ones that overrun.

With a `[queue]`, a fire runs nothing here: for each of the audit's sites it claims the slot
(audit, site, fire time) in the shared store, so that of several schedulers exactly one queues
it, and enqueues the run for the workers. While the broker is down it keeps trying until
`[scheduler] enqueue_retry_s` has passed, then records the slot as missed and pings the heartbeat
`fail`, so the gap is seen. It also reaps the runs of workers that stopped beating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from auditor.app import Overrides, exit_code_for, redact_logs, run_audit_async
from auditor.config import Settings
from auditor.errors import NothingMatched
from auditor.progress import PlainProgress
from auditor.results import RunResult, RunStatus
from auditor.runner import new_run_id
from auditor.scheduler.catchup import TRIGGER, plan_catch_up
from auditor.scheduler.config import SchedulerConfig
from auditor.scheduler.cron import cron_trigger, latest_fire
from auditor.scheduler.heartbeat import Event, Heartbeat
from auditor.store import Store

log = logging.getLogger("auditor.scheduler")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
SUCCESS = (RunStatus.PASS, RunStatus.WARN)  # what `auditor run` exits 0 for
# Waits between tries to queue a slot's run while the broker is down (then the last one, repeated).
ENQUEUE_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)


def utcnow() -> datetime:
    return datetime.now(UTC)


def scheduled_audits(settings: Settings, tz: str) -> dict[str, CronTrigger]:
    """A trigger for each audit that has a `schedule`; NothingMatched when none has."""
    triggers = {
        name: cron_trigger(audit.schedule, tz) for name, audit in settings.audits.items() if audit.schedule
    }
    if not triggers:
        raise NothingMatched(
            'no audit in the config has a `schedule`: add e.g. `schedule = "0 3 * * *"` to an audit'
        )
    return triggers


class _SlotTries:
    """One slot's tries to queue its runs: the deadline they share, and the broker's last refusal."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.count = 0
        self.down = ""  # the last BrokerUnavailable message, "" once the broker took a run

    def failed(self, why: str) -> None:
        self.count += 1
        self.down = why


class AuditScheduler:
    """The scheduled audits of one config, each run at most once at a time."""

    def __init__(
        self,
        settings: Settings,
        config: SchedulerConfig,
        store: Store,
        heartbeat: Heartbeat,
        *,
        report_root: Path | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.store = store
        self.heartbeat = heartbeat
        self.report_root = report_root
        self.triggers = scheduled_audits(settings, config.timezone)
        self.running: dict[str, asyncio.Task[RunResult | None]] = {}
        self._stopping = False
        self._stopped = asyncio.Event()
        self.jobs = AsyncIOScheduler(timezone=config.tz)
        self.queue = settings.model.queue
        # Who claims slots: seen in `auditor runs` and in the other schedulers' "taken by" lines.
        self.ident = f"scheduler@{socket.gethostname()}/{os.getpid()}"

    def start(self) -> None:
        """Add one job per scheduled audit and start firing them; logs each audit's next run."""
        for audit, trigger in self.triggers.items():
            self.jobs.add_job(
                self._on_fire,
                trigger=trigger,
                args=[audit],
                id=audit,
                name=f"audit {audit}",
                max_instances=1,
                coalesce=True,
                # A fire delayed by a busy loop still runs, as it would have been caught up at start.
                misfire_grace_time=max(1, int(self.config.catch_up_grace_s)),
            )
        self.jobs.start()
        for audit in self.triggers:
            schedule = self.settings.audits[audit].schedule
            log.info(
                "audit %r scheduled %r (%s): next run %s",
                audit,
                schedule,
                self.config.timezone,
                self.next_run(audit),
            )

    def next_run(self, audit: str) -> str:
        """When `audit` runs next, for the log lines."""
        if self._stopping:
            return "none (the scheduler is stopping)"
        job = self.jobs.get_job(audit)
        when: datetime | None = job.next_run_time if job else None
        return when.strftime("%Y-%m-%d %H:%M %Z") if when else "never"

    async def catch_up(self, now: datetime) -> list[asyncio.Task[RunResult | None]]:
        """Run once now each audit whose last fire within the grace period was missed."""
        missed = await asyncio.to_thread(
            plan_catch_up, self.store, self.triggers, now=now, grace_s=self.config.catch_up_grace_s
        )
        tasks = []
        for m in missed:
            last = m.last_run.astimezone(self.config.tz)
            reason = (
                f"catch-up: the run due {m.fire_time:%Y-%m-%d %H:%M %Z} was missed; "
                f"the last one started {last:%Y-%m-%d %H:%M %Z}"
            )
            task = self.fire(m.audit, reason, slot_at=m.fire_time)
            if task:
                tasks.append(task)
        return tasks

    async def _on_fire(self, audit: str) -> None:
        self.fire(audit, "on schedule", slot_at=self.slot_of(audit, utcnow()))

    def slot_of(self, audit: str, now: datetime) -> datetime:
        """The fire time a fire at `now` is for: the cron's latest fire (a fire may come late)."""
        trigger = self.triggers[audit]
        # Nearly always the fire of a moment ago; stepping back over the whole grace (a few hundred
        # steps for a per-minute cron) only for a fire APScheduler delivered late.
        fired = latest_fire(trigger, since=now - timedelta(seconds=120), until=now)
        if fired is None:
            grace = max(120.0, self.config.catch_up_grace_s)
            fired = latest_fire(trigger, since=now - timedelta(seconds=grace), until=now)
        return (fired or now).astimezone(UTC).replace(second=0, microsecond=0)

    def fire(
        self, audit: str, reason: str, *, slot_at: datetime | None = None
    ) -> asyncio.Task[RunResult | None] | None:
        """Start a run of `audit` now, unless it is still running (then the fire is skipped).

        With a queue, enqueue the slot `slot_at` (default: now) instead; each slot is its own
        task, so a slot whose broker is down never makes the next one be skipped."""
        if self._stopping:
            log.info("audit %r not started (%s): the scheduler is stopping", audit, reason)
            return None
        if self.queue is not None:
            slot = (slot_at or utcnow()).astimezone(UTC).replace(second=0, microsecond=0)
            key = f"{audit}@{slot.isoformat()}"
            if key in self.running:
                return None
            slot_task = asyncio.create_task(self._enqueue_slot(audit, slot, reason), name=f"slot:{key}")
            self.running[key] = slot_task
            slot_task.add_done_callback(lambda _t: self.running.pop(key, None))
            return slot_task
        current = self.running.get(audit)
        if current is not None and not current.done():
            log.warning(
                "audit %r skipped (%s): its previous run is still going; next run %s",
                audit,
                reason,
                self.next_run(audit),
            )
            return None
        task = asyncio.create_task(self._run(audit, reason), name=f"audit:{audit}")
        self.running[audit] = task
        return task

    async def _run(self, audit: str, reason: str) -> RunResult | None:
        run_id = new_run_id()
        log.info("audit %r started as run %s (%s)", audit, run_id, reason)
        try:
            await self.heartbeat.ping(Event.START, f"{audit} run {run_id} started")
            run = await self._audit(audit, run_id)
        finally:
            self.running.pop(audit, None)
        if run is not None:
            ok = run.status in SUCCESS
            report = f"; report {run.report_dir / 'report.html'}" if run.report_dir else ""
            log.info(
                "audit %r run %s finished: %s%s; next run %s",
                audit,
                run.id,
                run.status,
                report,
                self.next_run(audit),
            )
            await self.heartbeat.ping(
                Event.SUCCESS if ok else Event.FAIL, f"{audit} run {run.id}: {run.status}{report}"
            )
        return run

    async def _audit(self, audit: str, run_id: str) -> RunResult | None:
        # The application layer records, alerts (a channel that cannot send ends the run as error,
        # and the schedule goes on) and reports, as `auditor run` does.
        # A template audit (`sites = ...`) runs for each of its sites, one after another, each its
        # own recorded run; the heartbeat hears about the worst of them (issue 14).
        template = self.settings.audits[audit].sites is not None
        sites: list[str | None] = list(self.settings.site_names(audit)) if template else [None]
        try:
            worst: RunResult | None = None
            for i, site in enumerate(sites):
                rid = run_id if i == 0 else new_run_id()
                root = self.report_root / rid if self.report_root else None
                run = await run_audit_async(
                    self.settings,
                    audit,
                    trigger=TRIGGER,
                    overrides=Overrides(report_dir=root, alerts=True),
                    run_id=rid,
                    progress=PlainProgress(sys.stderr),
                    store=self.store,
                    site=site,
                )
                if worst is None or exit_code_for(run) > exit_code_for(worst):
                    worst = run
            return worst
        except asyncio.CancelledError:
            log.warning("audit %r run %s interrupted: it did not finish before the stop limit", audit, run_id)
            await self.heartbeat.ping(Event.FAIL, f"{audit} run {run_id}: interrupted by a stop")
            raise
        except Exception as e:
            log.exception("audit %r run %s could not run: %s", audit, run_id, e)
            await self.heartbeat.ping(Event.FAIL, f"{audit} run {run_id}: error: {e}")
            return None

    # -- with a queue ---------------------------------------------------------------------------

    async def _enqueue_slot(self, audit: str, slot_at: datetime, reason: str) -> RunResult | None:
        """Claim and queue the slot of `audit` at `slot_at` for each of its sites (no run here: None).

        The retry limit is the slot's, not each site's: with the broker down, a template audit of
        500 sites is missed after `enqueue_retry_s`, not after 500 times that."""
        from auditor.queue import metrics
        from auditor.queue.state import QueueState

        state = QueueState(self.store)
        when = f"{slot_at.astimezone(self.config.tz):%Y-%m-%d %H:%M %Z}"
        tries = _SlotTries(asyncio.get_running_loop().time() + self.config.enqueue_retry_s)
        queued: list[str] = []
        missed: list[str] = []
        why = ""
        try:
            for site in self.settings.site_names(audit):
                if not await asyncio.to_thread(state.claim_slot, audit, site, slot_at, scheduler=self.ident):
                    other = await asyncio.to_thread(state.slot, audit, site, slot_at)
                    log.info(
                        "audit %r on site %r, slot %s (%s): already taken by %s (%s); not queued again",
                        audit,
                        site,
                        when,
                        reason,
                        other.scheduler if other else "another scheduler",
                        other.state if other else "claimed",
                    )
                    continue
                run_id, why_not = await self._enqueue_with_retry(audit, site, when, tries)
                if run_id is not None:
                    await asyncio.to_thread(state.slot_enqueued, audit, site, slot_at, run_id)
                    metrics.slot_enqueued(audit)
                    queued.append(f"{site} as run {run_id}")
                else:
                    why = why_not
                    await asyncio.to_thread(state.slot_missed, audit, site, slot_at, why)
                    metrics.slot_missed(audit)
                    log.error("audit %r on site %r, slot %s MISSED: %s", audit, site, when, why)
                    missed.append(site)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("audit %r, slot %s could not be queued: %s", audit, when, e)
            why = f"error: {e}"
            missed.append("(the rest)")
        if missed:
            names = ", ".join(missed[:10]) + (f" and {len(missed) - 10} more" if len(missed) > 10 else "")
            await self.heartbeat.ping(
                Event.FAIL, f"{audit} slot {when}: missed for {len(missed)} site(s) ({names}): {why}"
            )
        elif queued:
            log.info("audit %r, slot %s (%s): queued %s", audit, when, reason, ", ".join(queued))
            await self.heartbeat.ping(Event.SUCCESS, f"{audit} slot {when}: queued " + ", ".join(queued))
        return None

    async def _enqueue_with_retry(
        self, audit: str, site: str, when: str, tries: _SlotTries
    ) -> tuple[str | None, str]:
        """(run id, "") once the broker took the run; (None, why) when it did not before the slot's
        limit. Past the limit a site gets one try, and none while the broker is known to be down."""
        from auditor.errors import BrokerUnavailable
        from auditor.queue.enqueue import enqueue

        loop = asyncio.get_running_loop()
        limit = self.config.enqueue_retry_s
        failed = 0
        while True:
            if tries.down and loop.time() >= tries.deadline:
                return (
                    None,
                    f"the broker did not take the run within {limit:g} s ({tries.count} tries): {tries.down}",
                )
            if tries.down and self._stopped.is_set():
                return None, f"the scheduler stopped before the broker took the run: {tries.down}"
            try:
                run_id = await asyncio.to_thread(
                    enqueue, self.settings, self.store, audit=audit, site=site, trigger=TRIGGER
                )
            except BrokerUnavailable as e:
                tries.failed(str(e))
                failed += 1
            else:
                if failed:
                    log.info(
                        "audit %r on site %r, slot %s: queued after %d failed try(s)",
                        audit,
                        site,
                        when,
                        failed,
                    )
                tries.down = ""
                return run_id, ""
            left = tries.deadline - loop.time()
            if left <= 0:
                continue  # the limit: the check above records the slot missed
            wait = min(ENQUEUE_BACKOFF_S[min(failed - 1, len(ENQUEUE_BACKOFF_S) - 1)], left)
            log.warning(
                "audit %r on site %r, slot %s: the broker is not taking runs (try %d); trying again in %g s "
                "for up to %d s more: %s",
                audit,
                site,
                when,
                tries.count,
                wait,
                int(left),
                tries.down,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=wait)

    async def reap_forever(self) -> None:
        """Every heartbeat interval, mark interrupted the runs of workers that stopped beating."""
        from auditor.queue.state import QueueState

        assert self.queue is not None
        state = QueueState(self.store)
        while not self._stopping:
            try:
                for run_id in await asyncio.to_thread(state.reap, self.queue.stale_after()):
                    log.warning("run %s: its worker stopped beating; marked interrupted", run_id)
            except Exception as e:
                log.warning("reaping the runs of lost workers failed (tried again shortly): %s", e)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=self.queue.heartbeat_interval_s)

    async def stop(self, timeout_s: float) -> None:
        """Stop firing; let running audits finish within `timeout_s`, then cancel them.

        A cancelled run is recorded `interrupted` by the runner, and made up at the next start.
        """
        self._stopping = True
        self._stopped.set()
        if self.jobs.running:
            self.jobs.shutdown(wait=False)
        tasks = [t for t in self.running.values() if not t.done()]
        if tasks:
            names = ", ".join(sorted(self.running))
            log.info("stopping: waiting up to %g s for the running audit(s) to finish: %s", timeout_s, names)
            _, late = await asyncio.wait(tasks, timeout=timeout_s)
            for t in late:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # APScheduler's shutdown is scheduled on the loop; let it happen before the loop goes away.
        await asyncio.sleep(0)
        log.info("stopped")


async def run_scheduler(
    settings: Settings,
    *,
    scheduler_config: SchedulerConfig,
    database_url: str | None = None,
    report_dir: str | Path | None = None,
    stop_event: asyncio.Event | None = None,
    now: Callable[[], datetime] = utcnow,
    health_port: int | None = None,
) -> int:
    """Run the scheduled audits until `stop_event` is set; returns the exit code (0 after a stop).

    At start, runs left `running` by a process that is gone are marked interrupted, and each audit
    whose last fire was missed within the grace period runs once. `report_dir` is the folder each
    run's report folder is made in (default: the config's `report_dir`).
    """
    stop_event = stop_event or asyncio.Event()
    scheduled_audits(settings, scheduler_config.timezone)  # fail before touching the database
    store = await asyncio.to_thread(Store.open, settings.database_url(database_url))
    try:
        for run_id in await asyncio.to_thread(store.mark_interrupted):
            log.warning("run %s was left running by a process that is gone; marked interrupted", run_id)
        async with Heartbeat(scheduler_config.heartbeat_url) as heartbeat:
            scheduler = AuditScheduler(
                settings,
                scheduler_config,
                store,
                heartbeat,
                report_root=Path(report_dir) if report_dir else None,
            )
            health = _health_server(health_port, lambda: not scheduler._stopping)
            scheduler.start()
            reaper = asyncio.create_task(scheduler.reap_forever()) if scheduler.queue else None
            try:
                await scheduler.catch_up(now())
                await stop_event.wait()
            finally:
                await scheduler.stop(scheduler_config.stop_timeout_s)
                if reaper is not None:
                    await asyncio.gather(reaper, return_exceptions=True)
                if health is not None:
                    health.stop()
    finally:
        store.close()
    return 0


def serve(
    settings: Settings,
    *,
    scheduler_config: SchedulerConfig,
    database_url: str | None = None,
    report_dir: str | Path | None = None,
    health_port: int | None = None,
) -> int:
    """`auditor schedule`: run until SIGTERM or SIGINT, then stop cleanly; returns the exit code."""
    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)  # scheduled/started/finished lines are the point of this command
    redact_logs(settings)

    async def main() -> int:
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, _stop_on_signal, loop, sig, stop_event)
        return await run_scheduler(
            settings,
            scheduler_config=scheduler_config,
            database_url=database_url,
            report_dir=report_dir,
            stop_event=stop_event,
            health_port=health_port,
        )

    return asyncio.run(main())


def _health_server(port: int | None, alive: Callable[[], bool]) -> Any:
    """The `--health-port` server (200 while the scheduler runs, 503 once it stops), or None."""
    if port is None:
        return None
    from auditor.ops.health import HealthServer

    server = HealthServer(port, alive=alive)
    server.start()
    log.info("health on http://127.0.0.1:%d/healthz, metrics on /metrics", server.port)
    return server


def _stop_on_signal(loop: asyncio.AbstractEventLoop, sig: signal.Signals, stop_event: asyncio.Event) -> None:
    """The first signal stops gently; the default handlers come back, so a second one quits at once."""
    log.info(
        "%s received: no new runs; running audits get time to finish (send it again to quit at once: "
        "the runs are then marked interrupted at the next start)",
        sig.name,
    )
    for s in SIGNALS:
        loop.remove_signal_handler(s)
    stop_event.set()

""" "Run now" from the dashboard, and what a running audit is doing (for the live progress).

With a `[queue]` in the configuration the run is queued for the workers (`auditor worker`); without one the
server runs it in its own worker pool: a few threads, each with its own event loop, calling the
same application layer as `auditor run` (`auditor.app.run_audit_async`: recorded, alerted,
reported). Live progress reads the store (each check is recorded as it ends), so a run started by
a worker, the scheduler or another server shows the same way; a run this server started also
shows the check going on now and its counters.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.config import Settings
    from auditor.results import CheckResult, RunResult
    from auditor.store import Store

log = logging.getLogger("auditor.web")


@dataclass(frozen=True)
class Started:
    """What "run now" did."""

    run_id: str | None
    queued: bool
    message: str


@dataclass
class Live:
    """What a run this server started is doing now."""

    checks: list[str] = field(default_factory=list)
    current: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: bool = False
    error: str | None = None


class _Progress:
    """The runner's progress hooks, kept for the live view."""

    def __init__(self, live: Live) -> None:
        self.live = live

    def run_started(self, run: RunResult, checks: list[str]) -> None:
        self.live.checks = list(checks)

    def check_started(self, name: str, kind: str) -> None:
        self.live.current[name] = {}

    def check_progress(self, name: str, counters: dict[str, Any]) -> None:
        self.live.current[name] = dict(counters)

    def check_finished(self, result: CheckResult) -> None:
        self.live.current.pop(result.name, None)

    def run_finished(self, run: RunResult) -> None:
        self.live.finished = True


class Pool:
    """The server's own workers for runs started from the dashboard without a queue."""

    def __init__(self, workers: int = 1) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="auditor-run")
        self._lock = threading.Lock()
        self.live: dict[str, Live] = {}

    def submit(
        self, settings: Settings, store: Store, audit: str, run_id: str, site: str | None = None
    ) -> None:
        live = Live()
        with self._lock:
            self.live[run_id] = live
        self._executor.submit(self._run, settings, store, audit, run_id, live, site)

    def _run(
        self, settings: Settings, store: Store, audit: str, run_id: str, live: Live, site: str | None = None
    ) -> None:
        from auditor.app import Overrides, run_audit_async

        try:
            asyncio.run(
                run_audit_async(
                    settings,
                    audit,
                    trigger="dashboard",
                    overrides=Overrides(alerts=True),
                    run_id=run_id,
                    progress=_Progress(live),
                    store=store,
                    site=site,
                )
            )
        except Exception as e:  # a run that cannot start (a broken config): said on the run's page
            log.exception("dashboard run %s of %r could not run", run_id, audit)
            live.error = f"{type(e).__name__}: {e}"
        finally:
            live.finished = True

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def audits_of(settings: Settings, site: str) -> list[str]:
    """The audits that audit `site` (its own audits, and the templates whose sites include it)."""
    return [name for name in settings.audits if site in settings.site_names(name)]


def choose_audit(settings: Settings, site: str, audit: str | None) -> str:
    """The audit to run on `site`: `audit` if it is one of the site's, else its only one."""
    names = audits_of(settings, site)
    if audit is not None:
        if audit not in names:
            raise LookupError(
                f"site {site!r} has no audit {audit!r}; its audits: {', '.join(names) or 'none'}"
            )
        return audit
    if len(names) == 1:
        return names[0]
    if not names:
        raise LookupError(f"no audit of the configuration audits site {site!r}")
    raise LookupError(f"site {site!r} has {len(names)} audits; name one of: {', '.join(names)}")


async def start_run(
    settings: Settings, store: Store, *, site: str, audit: str | None, pool: Pool | None = None
) -> Started:
    """Start `audit` (or the site's only audit) on `site` now. LookupError: no such audit there.

    With a `[queue]` the run is queued for the workers (`auditor worker`); BrokerUnavailable when
    the broker does not take it (nothing is queued then). Without one it runs in the server's pool."""
    from auditor.runner import new_run_id

    name = choose_audit(settings, site, audit)
    if settings.model.queue is not None:
        from auditor.queue.enqueue import enqueue

        queued_id = await asyncio.to_thread(
            enqueue, settings, store, audit=name, site=site, trigger="dashboard"
        )
        return Started(queued_id, True, f"audit {name!r} queued as run {queued_id} for the workers")
    run_id = new_run_id()
    if pool is None:
        pool = _default_pool()
    pool.submit(settings, store, name, run_id, site)
    return Started(run_id, False, f"audit {name!r} started as run {run_id}")


_POOL: Pool | None = None


def _default_pool() -> Pool:
    global _POOL
    if _POOL is None:
        _POOL = Pool()
    return _POOL


def set_pool(pool: Pool | None) -> None:
    """The pool `start_run` uses when none is passed (the app sets its own at start-up)."""
    global _POOL
    _POOL = pool


def live_of(run_id: str) -> Live | None:
    return _POOL.live.get(run_id) if _POOL is not None else None

"""Putting a run on the queue: a `queued` row in the shared store, then the task on the broker.

The row comes first, so a worker that takes the task at once always finds it to claim. If the
broker does not take the task (down, refusing, unreachable), the row is removed again and
`BrokerUnavailable` says so: nothing waits for a task that was never sent. A publish that the
broker took but whose confirmation was lost is the one case that can leave a task without its
row's certainty; the worker's claim (`QueueState.claim_run`) makes any duplicate copy a no-op.

The task is `auditor.run_audit` with JSON keyword arguments only (the workers read their own
copy of the config): run_id, audit, site, trigger, queued_at.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from auditor.config import Settings
from auditor.errors import BrokerUnavailable, RunIdTaken, UsageError
from auditor.queue.config import QueueConfig

log = logging.getLogger("auditor.queue")

TASK = "auditor.run_audit"
# A publish is retried a little (a broker restarting, a dropped connection); a longer outage is the
# caller's to handle: the scheduler keeps trying until the slot's grace runs out.
RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}
# How long connecting to the broker may take before a publish gives up.
CONNECT_TIMEOUT_S = 5.0

_apps: dict[tuple[str, str, float], Any] = {}


def masked(url: str) -> str:
    """`url` with its password replaced by ***, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an invalid URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def queue_config(settings: Settings) -> QueueConfig:
    """The config's `[queue]`; a usage error saying what to add when it has none."""
    queue = settings.model.queue
    if queue is None:
        raise UsageError(
            'the config has no [queue] section: add one with broker_url = "redis://127.0.0.1:6379/0" '
            "(or amqp://...) to run audits on workers, or leave out --queue to run here"
        )
    return queue


def celery_app(queue: QueueConfig) -> Any:
    """One Celery app per broker for this process (making one is not free; the scheduler enqueues often)."""
    from auditor.queue.celery_app import make_celery

    url = queue.resolved_broker_url()
    key = (url, queue.queue_name, queue.visibility_timeout_s)
    app = _apps.get(key)
    if app is None:
        app = make_celery(queue)
        app.conf.broker_connection_timeout = CONNECT_TIMEOUT_S
        _apps[key] = app
    return app


def resolve_site(settings: Settings, audit: str, site: str | None) -> str:
    """The site a queued run of `audit` is for: `site`, or the audit's one site (a template: its first)."""
    if audit not in settings.audits:
        known = ", ".join(sorted(settings.audits)) or "none are configured"
        raise UsageError(f"no audit named {audit!r} (known: {known})")
    names = settings.site_names(audit)
    if site is None:
        if not names:
            raise UsageError(f"audit {audit!r} matches no site")
        return names[0]
    if site not in names:
        raise UsageError(f"site {site!r} is not one of audit {audit!r}'s sites: {', '.join(names) or 'none'}")
    return site


def enqueue(
    settings: Settings,
    store: Any,
    *,
    audit: str,
    site: str | None = None,
    trigger: str = "manual",
    run_id: str | None = None,
    queued_at: datetime | None = None,
) -> str:
    """Queue one run of `audit` on `site` for a worker; returns its run id.

    Raises UsageError without a `[queue]` or for an unknown audit or site, and BrokerUnavailable
    when the broker did not take the task (the queued row is then removed: nothing was queued)."""
    from auditor.queue.state import QueueState
    from auditor.runner import ID_ATTEMPTS, new_run_id

    queue = queue_config(settings)
    site = resolve_site(settings, audit, site)
    try:
        url = queue.resolved_broker_url()
    except ValueError as e:
        raise UsageError(f"[queue] broker_url: {e}") from None
    at = queued_at or datetime.now(UTC)
    state = QueueState(store)
    for attempt in range(ID_ATTEMPTS):
        rid = run_id or new_run_id(at)
        try:
            state.record_queued(
                rid,
                audit=audit,
                site=site,
                base_url=settings.sites[site].base_url,
                trigger=trigger,
                queued_at=at,
            )
            break
        except RunIdTaken:
            # A template audit of hundreds of shops queues them within a second: two can draw the
            # same id. A given id is the caller's; a drawn one is drawn again.
            if run_id is not None or attempt == ID_ATTEMPTS - 1:
                raise
    kwargs = {"run_id": rid, "audit": audit, "site": site, "trigger": trigger, "queued_at": at.isoformat()}
    try:
        app = celery_app(queue)
        app.send_task(TASK, kwargs=kwargs, queue=queue.queue_name, retry=True, retry_policy=RETRY_POLICY)
    except Exception as e:
        state.forget_queued(rid)
        where = masked(url)
        raise BrokerUnavailable(
            f"could not queue audit {audit!r} for site {site!r}: the broker at {where} did not take the "
            f"task ({type(e).__name__}: {str(e).strip() or 'no detail'}); nothing was queued. Start the "
            "broker or fix [queue] broker_url, then try again (or run it here without --queue)"
        ) from e
    log.info("queued audit %r for site %r as run %s on queue %r", audit, site, rid, queue.queue_name)
    return rid

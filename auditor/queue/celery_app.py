"""The Celery app, configured from the `[queue]` settings (no celeryconfig module)."""

from __future__ import annotations

from typing import Any

from auditor.queue.config import QueueConfig


def make_celery(queue: QueueConfig) -> Any:
    """A Celery app for this broker: early acknowledgement by default (a task that may place an
    order must never run twice), one task at a time per worker process, Redis visibility timeout
    above the longest run."""
    from celery import Celery  # type: ignore[import-untyped]

    url = queue.resolved_broker_url()
    app = Celery("auditor", broker=url)
    app.conf.update(
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        task_reject_on_worker_lost=False,
        broker_connection_retry_on_startup=True,
        # Celery 6's default, set now (5.x warns on every broker loss without it). It cancels only
        # late-acknowledged tasks not yet acknowledged; ours are acknowledged when they start, so a
        # broker restart never touches a running audit (tested: a crawl across a restart passes).
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": int(queue.visibility_timeout_s)},
    )
    return app

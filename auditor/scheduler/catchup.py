"""Deciding, at start, which audits missed a scheduled run while the scheduler was down.

Our own run history is the source of truth, not a persistent APScheduler job store: the history
is there anyway (every run is recorded), it survives edits of the config (a changed cron
expression or a renamed audit would orphan a pickled job), and it needs no pickled callables,
which break whenever the code they point at moves. So at start, for each scheduled audit, the
cron's most recent fire time within the grace period is compared with the start of the audit's
last scheduled run: a fire with no run since is missed, and several missed fires make one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.results import RunStatus
from auditor.scheduler.cron import latest_fire
from auditor.store import Store
from auditor.store.models import RunRow

TRIGGER = "schedule"


@dataclass(frozen=True)
class Missed:
    """A scheduled run that did not happen and is to be made up for now."""

    audit: str
    fire_time: datetime
    last_run: datetime


def missed_fire(
    trigger: CronTrigger, *, last_run: datetime | None, now: datetime, grace_s: float
) -> datetime | None:
    """The fire time to catch up on, or None.

    None when the cron did not fire within the last `grace_s` seconds, when a scheduled run
    started at or after its latest fire, or when the audit never ran on schedule: a brand-new
    installation or audit has missed nothing, and should not hit a shop at an unplanned hour.
    """
    if last_run is None:
        return None
    fired = latest_fire(trigger, since=now - timedelta(seconds=grace_s), until=now)
    if fired is None or last_run >= fired:
        return None
    return fired


def last_scheduled_start(store: Store, audit: str) -> datetime | None:
    """When the audit's newest scheduled run started; interrupted runs do not count.

    A run cut short by a restart did not do its job, so its fire counts as missed and is made up.
    A queued run counts (its `started_at` is when it was queued): its fire was not missed, a
    worker will run it; catching up on it would queue the same slot twice.
    """
    query = (
        select(RunRow.started_at)
        .where(RunRow.audit == audit, RunRow.trigger == TRIGGER, RunRow.status != str(RunStatus.INTERRUPTED))
        .order_by(RunRow.started_at.desc())
        .limit(1)
    )
    with Session(store.engine) as s:
        return s.scalar(query)


def plan_catch_up(
    store: Store, triggers: dict[str, CronTrigger], *, now: datetime, grace_s: float
) -> list[Missed]:
    """The audits to run once now because their last fire was missed (at most one run each)."""
    missed = []
    for audit, trigger in triggers.items():
        last = last_scheduled_start(store, audit)
        fired = missed_fire(trigger, last_run=last, now=now, grace_s=grace_s)
        if fired is not None and last is not None:
            missed.append(Missed(audit, fired, last))
    return missed

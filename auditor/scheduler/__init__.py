"""`auditor schedule`: the audits of `auditor.toml` on their cron schedules, never two of one at once.

    config.py     SchedulerConfig, the `[scheduler]` section
    cron.py       crontab expressions -> APScheduler triggers (with crontab's weekday numbers)
    catchup.py    which missed runs to make up at start, from the run history
    heartbeat.py  pings around each run (a dead man's switch)
    service.py    AuditScheduler, run_scheduler() and serve() (signals)

Only the config model is imported here (it imports nothing of auditor's nor APScheduler), because
`auditor.config` imports it and the service imports `auditor.config`: import run_scheduler and
serve from `auditor.scheduler.service`, cron_trigger from `auditor.scheduler.cron`.
"""

from __future__ import annotations

from auditor.scheduler.config import SchedulerConfig

__all__ = ["SchedulerConfig"]

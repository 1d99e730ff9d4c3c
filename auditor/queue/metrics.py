"""Prometheus metrics of the processes that run audits (`auditor worker`, `auditor schedule`).

Served on `--health-port`'s /metrics (auditor.ops.health). A prefork worker's children each count
their own runs: `prepare_multiprocess()` in the worker's main process, before it forks, points
prometheus-client's multiprocess mode at a fresh folder, so the main process's /metrics adds up
every child. Labels are bounded: audit and site names come from the config; never a URL or a
run id. The dashboard's own /metrics (auditor.web.metrics) shows each site's state from the
store instead; these are the run-time counters.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Histogram

# Runs take seconds (a crawl of a small shop) to hours (a big crawl).
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, float("inf"))
WAIT_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))

RUNS_STARTED = Counter("auditor_runs_started", "Audit runs started", ["audit", "site"])
RUNS_FINISHED = Counter(
    "auditor_runs_finished", "Audit runs finished, by status", ["audit", "site", "status"]
)
RUN_DURATION = Histogram(
    "auditor_run_duration_seconds", "How long an audit run took", ["audit"], buckets=DURATION_BUCKETS
)
QUEUE_WAIT = Histogram(
    "auditor_queue_wait_seconds",
    "From a run's enqueue to its start on a worker",
    ["audit"],
    buckets=WAIT_BUCKETS,
)
FINDINGS = Counter(
    "auditor_findings", "Findings of finished runs, by kind and severity", ["kind", "severity"]
)
SLOTS = Counter(
    "auditor_slots", "Scheduled slots, by what became of them (enqueued, missed)", ["audit", "state"]
)

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(directory: Path | None = None) -> Path:
    """Turn on multiprocess mode for this process and the ones it forks: a fresh, empty folder.

    Must run before any metric is touched in a child. Returns the folder; the caller removes it
    at exit (`cleanup_multiprocess`)."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="auditor-metrics-"))
    else:
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
    os.environ[ENV] = str(directory)
    return directory


def cleanup_multiprocess(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    if os.environ.get(ENV) == str(directory):
        del os.environ[ENV]


def mark_process_dead(pid: int) -> None:
    """A child exited: its live gauges go (counters stay, as Prometheus expects)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def run_started(audit: str, site: str, queue_wait_s: float | None) -> None:
    RUNS_STARTED.labels(audit=audit, site=site).inc()
    if queue_wait_s is not None and queue_wait_s >= 0:
        QUEUE_WAIT.labels(audit=audit).observe(queue_wait_s)


def run_finished(run: Any) -> None:
    """Count a finished `RunResult`: its status, duration and findings."""
    RUNS_FINISHED.labels(audit=run.audit, site=run.site, status=str(run.status)).inc()
    if run.finished_at is not None and run.started_at is not None:
        RUN_DURATION.labels(audit=run.audit).observe(
            max(0.0, (run.finished_at - run.started_at).total_seconds())
        )
    for finding in run.findings:
        FINDINGS.labels(kind=str(finding.kind), severity=str(finding.severity)).inc()


def slot_enqueued(audit: str) -> None:
    SLOTS.labels(audit=audit, state="enqueued").inc()


def slot_missed(audit: str) -> None:
    SLOTS.labels(audit=audit, state="missed").inc()

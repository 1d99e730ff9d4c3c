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

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, values

# Runs take seconds (a crawl of a small shop) to hours (a big crawl).
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, float("inf"))
WAIT_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))

ENV = "PROMETHEUS_MULTIPROC_DIR"


class _Metrics:
    """The metric objects, made on first use in the process that uses them (see `_metrics`)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry
        self.runs_started = Counter(
            "auditor_runs_started", "Audit runs started", ["audit", "site"], registry=registry
        )
        self.runs_finished = Counter(
            "auditor_runs_finished",
            "Audit runs finished, by status",
            ["audit", "site", "status"],
            registry=registry,
        )
        self.run_duration = Histogram(
            "auditor_run_duration_seconds",
            "How long an audit run took",
            ["audit"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "auditor_queue_wait_seconds",
            "From a run's enqueue to its start on a worker",
            ["audit"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.findings = Counter(
            "auditor_findings",
            "Findings of finished runs, by kind and severity",
            ["kind", "severity"],
            registry=registry,
        )
        self.slots = Counter(
            "auditor_slots",
            "Scheduled slots, by what became of them (enqueued, missed)",
            ["audit", "state"],
            registry=registry,
        )

    def unregister(self) -> None:
        if self.registry is None:
            return
        for m in (
            self.runs_started,
            self.runs_finished,
            self.run_duration,
            self.queue_wait,
            self.findings,
            self.slots,
        ):
            self.registry.unregister(m)


_made: _Metrics | None = None


def _metrics() -> _Metrics:
    """This process's metrics. In multiprocess mode they are written to files (no registry: the
    health server's MultiProcessCollector reads the files); otherwise the default registry."""
    global _made
    if _made is None:
        _made = _Metrics(None if os.environ.get(ENV) else REGISTRY)
    return _made


def _reset() -> None:
    global _made
    if _made is not None:
        _made.unregister()
        _made = None


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
    # prometheus-client picks how values are kept when it is imported; switch it now, and make the
    # metrics again on first use, so that children forked from here write to the folder.
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    _reset()
    return directory


def cleanup_multiprocess(directory: Path) -> None:
    """Leave multiprocess mode and remove its folder (the worker's exit, a test's end)."""
    shutil.rmtree(directory, ignore_errors=True)
    if os.environ.get(ENV) == str(directory):
        del os.environ[ENV]
        values.ValueClass = values.MutexValue
        _reset()


def mark_process_dead(pid: int) -> None:
    """A child exited: its live gauges go (counters stay, as Prometheus expects)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def run_started(audit: str, site: str, queue_wait_s: float | None) -> None:
    m = _metrics()
    m.runs_started.labels(audit=audit, site=site).inc()
    if queue_wait_s is not None and queue_wait_s >= 0:
        m.queue_wait.labels(audit=audit).observe(queue_wait_s)


def run_finished(run: Any) -> None:
    """Count a finished `RunResult`: its status, duration and findings."""
    m = _metrics()
    m.runs_finished.labels(audit=run.audit, site=run.site, status=str(run.status)).inc()
    if run.finished_at is not None and run.started_at is not None:
        m.run_duration.labels(audit=run.audit).observe(
            max(0.0, (run.finished_at - run.started_at).total_seconds())
        )
    for finding in run.findings:
        m.findings.labels(kind=str(finding.kind), severity=str(finding.severity)).inc()


def slot_enqueued(audit: str) -> None:
    _metrics().slots.labels(audit=audit, state="enqueued").inc()


def slot_missed(audit: str) -> None:
    _metrics().slots.labels(audit=audit, state="missed").inc()

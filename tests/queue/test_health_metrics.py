"""The --health-port server and the run metrics, over real HTTP, across real forked processes."""

from __future__ import annotations

import multiprocessing
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.errors import UsageError
from auditor.ops.health import HealthServer
from auditor.queue import metrics
from auditor.results import Finding, RunResult, RunStatus, Severity


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def test_healthz_says_alive_then_stopping_and_unknown_paths_are_404() -> None:
    alive = [True]
    with HealthServer(0, alive=lambda: alive[0]) as server:
        assert server.port > 0
        assert get(f"{server.url}/healthz")[::2] == (200, "ok\n")
        alive[0] = False
        assert get(f"{server.url}/healthz")[::2] == (503, "stopping\n")
        status, _, body = get(f"{server.url}/nope")
        assert status == 404 and "/healthz" in body


def test_a_probe_that_raises_is_not_alive() -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    with HealthServer(0, alive=broken) as server:
        assert get(f"{server.url}/healthz")[0] == 503


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"--health-port {port}: the port is already in use"):
            HealthServer(port).start()
    with pytest.raises(UsageError, match="0 to 65535"):
        HealthServer(70000)


def test_metrics_are_served_in_prometheus_format() -> None:
    metrics.run_started("nightly", "shop-a", 2.5)
    with HealthServer(0) as server:
        status, ctype, body = get(f"{server.url}/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    assert 'auditor_runs_started_total{audit="nightly",site="shop-a"}' in body
    assert 'auditor_queue_wait_seconds_bucket{audit="nightly",le="5.0"}' in body
    with HealthServer(0, metrics=False) as server:
        assert get(f"{server.url}/metrics")[0] == 404


def _child_run(status: str, kind: str) -> None:
    start = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    run = RunResult(
        id="r",
        audit="nightly",
        site="shop-b",
        base_url="http://127.0.0.1:9/",
        trigger="schedule",
        started_at=start,
        status=RunStatus(status),
        finished_at=start + timedelta(seconds=42),
    )
    from auditor.results import CheckResult

    check = CheckResult(name="links", kind="crawl")
    check.findings.append(Finding(kind, Severity.ERROR, "http://127.0.0.1:9/gone", "404"))
    run.checks.append(check)
    metrics.run_started("nightly", "shop-b", 1.0)
    metrics.run_finished(run)


def test_forked_children_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    directory = metrics.prepare_multiprocess(tmp_path / "prom")
    try:
        ctx = multiprocessing.get_context("fork")
        children = [
            ctx.Process(target=_child_run, args=args) for args in (("fail", "broken_link"), ("pass", "x"))
        ]
        for c in children:
            c.start()
        for c in children:
            c.join(30)
            assert c.exitcode == 0
        with HealthServer(0) as server:
            body = get(f"{server.url}/metrics")[2]
        assert 'auditor_runs_started_total{audit="nightly",site="shop-b"} 2.0' in body
        assert 'auditor_runs_finished_total{audit="nightly",site="shop-b",status="fail"} 1.0' in body
        assert 'auditor_runs_finished_total{audit="nightly",site="shop-b",status="pass"} 1.0' in body
        assert 'auditor_findings_total{kind="broken_link",severity="error"} 1.0' in body
        assert 'auditor_run_duration_seconds_count{audit="nightly"} 2.0' in body
        for c in children:
            metrics.mark_process_dead(c.pid or 0)
    finally:
        metrics.cleanup_multiprocess(directory)
    assert not directory.exists()

"""Each run pings the heartbeat URL at start and end; a failing ping never breaks a run."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from auditor.results import RunStatus
from auditor.scheduler.heartbeat import Event, Heartbeat, ping_url
from auditor.scheduler.service import AuditScheduler
from auditor.store import Store
from tests.scheduler.helpers import Receiver, fast, settings_for


async def one_run(tmp_path: Path, store: Store, url: str, *, broken: bool = False) -> RunStatus:
    async with Heartbeat(url) as hb:
        scheduler = AuditScheduler(settings_for(tmp_path, broken=broken), fast(), store, hb)
        task = scheduler.fire("nightly", "test")
        assert task is not None
        run = await task
    assert run is not None
    return run.status


async def test_a_passing_run_pings_start_then_success(
    tmp_path: Path, store: Store, heartbeat: Receiver
) -> None:
    assert await one_run(tmp_path, store, f"{heartbeat.url}/ping/abc-123") == RunStatus.PASS
    assert heartbeat.paths == ["/ping/abc-123/start", "/ping/abc-123"]
    assert heartbeat.bodies[1].startswith("nightly run ") and ": pass; report " in heartbeat.bodies[1]


async def test_a_failing_run_pings_start_then_fail(tmp_path: Path, store: Store, heartbeat: Receiver) -> None:
    assert await one_run(tmp_path, store, f"{heartbeat.url}/ping/abc-123/", broken=True) == RunStatus.FAIL
    assert heartbeat.paths == ["/ping/abc-123/start", "/ping/abc-123/fail"]


async def test_an_event_placeholder_is_filled_in(tmp_path: Path, store: Store, heartbeat: Receiver) -> None:
    await one_run(tmp_path, store, f"{heartbeat.url}/beat?state={{event}}")
    assert heartbeat.paths == ["/beat?state=start", "/beat?state=success"]


async def test_a_refused_ping_is_logged_and_the_run_goes_on(
    tmp_path: Path, store: Store, heartbeat: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    heartbeat.status = 503
    assert await one_run(tmp_path, store, f"{heartbeat.url}/ping/secret-uuid") == RunStatus.PASS
    assert f"heartbeat start ping to {heartbeat.url[7:]} was refused: HTTP 503" in caplog.text
    assert "secret-uuid" not in caplog.text


async def test_an_unreachable_heartbeat_is_logged_and_the_run_goes_on(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    caplog.set_level(logging.WARNING, "auditor.scheduler")
    assert await one_run(tmp_path, store, f"http://127.0.0.1:{port}/hc") == RunStatus.PASS
    assert f"heartbeat success ping to 127.0.0.1:{port} failed: ConnectError" in caplog.text


@pytest.mark.parametrize(
    ("url", "event", "expected"),
    [
        ("https://hc-ping.com/u", Event.START, "https://hc-ping.com/u/start"),
        ("https://hc-ping.com/u", Event.SUCCESS, "https://hc-ping.com/u"),
        ("https://hc-ping.com/u/", Event.FAIL, "https://hc-ping.com/u/fail"),
        ("https://beats.test/{event}/nightly", Event.FAIL, "https://beats.test/fail/nightly"),
    ],
)
def test_ping_urls_follow_healthchecks_conventions(url: str, event: Event, expected: str) -> None:
    assert ping_url(url, event) == expected

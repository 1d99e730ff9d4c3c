"""A check kind that is quick, slow, failing or held on demand, and a loopback heartbeat receiver.

The kind registers exactly as plugins do. Its gates are asyncio events a test opens, so a "long"
run lasts exactly as long as the test needs and no test waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from auditor import config
from auditor.check import Check, CheckContext
from auditor.registry import register
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity
from auditor.scheduler.config import SchedulerConfig
from auditor.store import Store

STARTED: dict[str, asyncio.Event] = {}
GATES: dict[str, asyncio.Event] = {}


class HeldOptions(BaseModel):
    gate: str = ""  # wait until the test opens GATES[gate]
    broken: bool = False  # report a broken link: the run fails


@register
class HeldCheck(Check[HeldOptions]):
    kind = "test-held"
    Options = HeldOptions

    async def run(self, ctx: CheckContext) -> CheckResult:
        if self.options.gate:
            STARTED[self.options.gate].set()
            await GATES[self.options.gate].wait()
        if self.options.broken:
            ctx.emit(Finding("broken_link", Severity.ERROR, f"{ctx.base_url}/gone", "404"))
        return CheckResult()


def settings_for(
    tmp_path: Path, schedule: str = "* * * * *", *, gate: str = "", broken: bool = False
) -> config.Settings:
    """One site, one `nightly` audit of one held check, recording into tmp_path/runs.db."""
    return config.from_dict(
        {
            "database_url": f"sqlite:///{tmp_path / 'runs.db'}",
            "report_dir": str(tmp_path / "reports"),
            "sites": {"shop": {"base_url": "http://127.0.0.1:9"}},
            "checks": {"held": {"kind": "test-held", "gate": gate, "broken": broken}},
            "audits": {"nightly": {"checks": ["held"], "schedule": schedule}},
        },
        environ={},
    )


def gate(name: str) -> tuple[asyncio.Event, asyncio.Event]:
    """(started, gate) for a held check: `started` is set once it runs, it returns once `gate` is."""
    STARTED[name], GATES[name] = asyncio.Event(), asyncio.Event()
    return STARTED[name], GATES[name]


def record_run(
    store: Store,
    started: datetime,
    *,
    trigger: str = "schedule",
    status: RunStatus = RunStatus.PASS,
    audit: str = "nightly",
) -> str:
    """A finished run in the history, as an earlier scheduler would have left it."""
    run = RunResult(
        id=f"r-{started:%H%M%S}-{trigger}-{status}",
        audit=audit,
        site="shop",
        base_url="http://127.0.0.1:9",
        trigger=trigger,
        started_at=started,
        status=status,
        finished_at=started,
    )
    store.start_run(run)
    store.finish_run(run)
    return run.id


def fast(**overrides: Any) -> SchedulerConfig:
    return SchedulerConfig.model_validate({"stop_timeout_s": 10, **overrides})


class Receiver:
    """A loopback HTTP server that records the path of every request and answers `status`."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.bodies: list[str] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.paths.append(self.path)
                receiver.bodies.append(self.rfile.read(length).decode())
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def now() -> datetime:
    return datetime.now(UTC)

"""`auditor serve` as a subprocess on a free loopback port, over a store of real runs of the demo shop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN = ("admin", "admin-password-1")
VIEWER = ("acme-viewer", "viewer-password-1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return {**env, "CI": "true"}


def auditor(
    cwd: Path, *args: str, stdin: str | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args, "--config", "auditor.toml"],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
    )


@dataclass
class Dashboard:
    url: str
    folder: Path
    process: subprocess.Popen[str]


@contextmanager
def serve(folder: Path, *flags: str) -> Iterator[Dashboard]:
    """`auditor serve` in `folder` (its auditor.toml), with `flags`, until the block ends.

    The port is free when chosen, but another test's server may take it before `auditor serve`
    binds it (with several test workers it happened): the server then exits, and what answered
    was someone else. So the dashboard is ready only when its own login page answers while the
    process still runs; a server that lost its port is started again on another one."""
    for attempt in range(5):
        port = free_port()
        log_path = folder / f"serve-{port}.log"
        log = log_path.open("w")
        command = [sys.executable, "-m", "auditor", "serve", "--config", "auditor.toml"]
        process = subprocess.Popen(
            [*command, "--port", str(port), *flags],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env(),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            if _ready(url, process):
                yield Dashboard(url, folder, process)
                return
            if attempt == 4 or "address already in use" not in log_path.read_text().lower():
                raise RuntimeError(f"auditor serve did not start:\n{log_path.read_text()}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def _ready(url: str, process: subprocess.Popen[str]) -> bool:
    """Whether `process` serves its login page at `url` (False once it has exited)."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        try:
            page = httpx.get(url + "/login", timeout=2)
            if 'name="csrf"' in page.text and process.poll() is None:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False

"""Real `auditor worker` processes for the queue tests: a slow loopback site, a worker process
handle, and `wait_for` (the `cluster` fixture in conftest.py puts them together)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEADLINE_S = 90.0


def wait_for(
    what: str, ok: Callable[[], bool], timeout_s: float = DEADLINE_S, logs: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:g} s\n{logs()}")
        time.sleep(0.2)


class SlowSite:
    """A loopback shop whose pages form a chain, each answered after `delay_s`: a crawl of it lasts
    about pages x delay_s, however many connections the crawler opens."""

    def __init__(self, pages: int, delay_s: float) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/").removeprefix("p") or "0"
                if not name.isdigit():  # robots.txt, sitemap.xml, favicon.ico
                    self.send_error(404)
                    return
                time.sleep(site.delay_s)
                n = int(name)
                nxt = f'<a href="/p{n + 1}">next</a>' if n + 1 < site.pages else ""
                if site.dead and n + 1 == site.pages:
                    nxt += f'<a href="{site.dead}">a page that is gone</a>'
                body = f"<html><body><h1>page {n}</h1>{nxt}</body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.pages, self.delay_s = pages, delay_s
        # A path the last page links to and the site answers 404 for: a broken link to find.
        self.dead: str | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Worker:
    """One `auditor worker` process (its own process group, so a SIGKILL takes its children too)."""

    def __init__(self, config: Path, log: Path, concurrency: int = 1, extra: tuple[str, ...] = ()) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "auditor",
                "worker",
                "--config",
                str(config),
                "--concurrency",
                str(concurrency),
                *extra,
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(timeout=30)

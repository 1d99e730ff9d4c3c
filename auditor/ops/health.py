"""`--health-port`: a tiny HTTP server in a daemon thread of `auditor worker` and `auditor schedule`.

    GET /healthz   200 "ok" while the process is alive and working, 503 "stopping" once it stops
    GET /metrics   Prometheus text format (every process of a worker when multiprocess mode is on)

The standard library's ThreadingHTTPServer is enough: one orchestrator probe and one Prometheus
scrape every few seconds. It listens on 127.0.0.1 unless told otherwise (a container's probe or
Prometheus on the same host); `host="0.0.0.0"` opens it to the network.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from auditor.errors import UsageError

log = logging.getLogger("auditor.ops")


def metrics_text() -> tuple[bytes, str]:
    """The Prometheus exposition of this process, or of every process sharing
    PROMETHEUS_MULTIPROC_DIR (a prefork worker's children) when that is set."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and Path(directory).is_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class HealthServer:
    """Serve /healthz and /metrics on `host:port` until `stop()` (port 0: a free one, see `.port`)."""

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        *,
        alive: Callable[[], bool] = lambda: True,
        metrics: bool = True,
    ) -> None:
        if not 0 <= port <= 65535:
            raise UsageError(f"--health-port {port}: a port is 0 to 65535 (0 picks a free one)")
        self.host = host
        self.requested_port = port
        self.alive = alive
        self.metrics = metrics
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            return self.requested_port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HealthServer:
        """Listen now; a port in use is a UsageError saying which (exit 2)."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    ok = owner._alive()
                    body = b"ok\n" if ok else b"stopping\n"
                    self._send(200 if ok else 503, body, "text/plain; charset=utf-8")
                elif path == "/metrics" and owner.metrics:
                    try:
                        body, ctype = metrics_text()
                    except Exception as e:  # a broken metrics file must not take the probe down
                        log.warning("metrics could not be collected: %s", e)
                        self._send(500, f"metrics could not be collected: {e}\n".encode(), "text/plain")
                        return
                    self._send(200, body, ctype)
                else:
                    self._send(404, b"not found: try /healthz or /metrics\n", "text/plain; charset=utf-8")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health %s: " + format, self.address_string(), *args)

        try:
            self._server = ThreadingHTTPServer((self.host, self.requested_port), Handler)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"--health-port {self.requested_port}: the port is already in use on {self.host}; "
                    "choose another (or 0 for a free one)"
                ) from None
            where = f"--health-port {self.requested_port}"
            raise UsageError(f"{where}: cannot listen on {self.host}: {e}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="auditor-health", daemon=True)
        self._thread.start()
        return self

    def _alive(self) -> bool:
        try:
            return bool(self.alive())
        except Exception:
            return False

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            self.requested_port = int(server.server_address[1])
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

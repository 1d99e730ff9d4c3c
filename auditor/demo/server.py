"""Running the demo shop: in a background thread for tests and `auditor demo`, or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from auditor.demo.app import create_app
from auditor.demo.faults import Faults
from auditor.demo.mailer import Mailer
from auditor.demo.provider import PaymentProvider

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0


class DemoShop:
    """The demo shop served by uvicorn on 127.0.0.1 in a background thread.

    `port=0` picks a free port. Use as a context manager, or call start() and stop(). Its emails go
    to smtp_host:smtp_port; `mailer.join()` waits until every email queued so far was sent.
    """

    def __init__(
        self,
        faults: Faults | None = None,
        port: int = 0,
        smtp_host: str = "127.0.0.1",
        smtp_port: int = 8025,
    ) -> None:
        self.faults = faults or Faults()
        self.app = create_app(self.faults, smtp_host, smtp_port)
        self._port = port
        self.mailer: Mailer = self.app.state.shop.mailer
        # PayCo, the third party whose widget the info pages load (its own port: another host).
        self.provider = PaymentProvider(self.faults)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the shop listens on (known once started)."""
        if self._server is None:
            raise RuntimeError("the demo shop is not running: call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """The shop's root URL, e.g. "http://127.0.0.1:54321"."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> DemoShop:
        """Bind the port and serve; returns once the shop accepts connections."""
        if self._server is not None:
            raise RuntimeError("the demo shop is already running")
        # Binding here, not in uvicorn, is what makes the chosen free port known before serving.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="demo-shop", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"the demo shop did not start on {HOST}:{self._port}")
            time.sleep(0.01)
        self.app.state.shop.provider_url = self.provider.start().base_url
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread; the port is free afterwards."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        self._server = self._thread = None
        self.provider.stop()
        self.mailer.close()

    def __enter__(self) -> DemoShop:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(port: int, smtp_host: str, smtp_port: int, faults: Faults) -> None:
    """Serve the demo shop on 127.0.0.1:`port` until Ctrl-C."""
    app = create_app(faults, smtp_host, smtp_port)
    provider = PaymentProvider(faults).start()
    app.state.shop.provider_url = provider.base_url
    try:
        uvicorn.run(app, host=HOST, port=port, log_level="info")
    finally:
        provider.stop()

"""PayCo, the demo shop's third party: a payment provider whose widget script the info pages load.

It runs on its own loopback port, so to a browser it is another host, as a real provider's CDN
is. Its `/widget.js` writes "Pay in 4 with PayCo" into the page. With the
`third-party-script-error` fault it throws instead (the merchant account was switched off at the
provider, yet the shop still loads the script on every page): only a browser sees that, and the
rendered crawl reports it as a third-party `page_script_error` named by the provider's host.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auditor.demo.faults import Faults

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0

WIDGET_JS = """// PayCo instalments widget
(function () {
  var banner = document.getElementById("payco-banner");
  if (banner) banner.textContent = "Pay in 4 interest-free instalments with PayCo.";
})();
"""
BROKEN_WIDGET_JS = """// PayCo instalments widget
(function () {
  throw new Error("PayCo: merchant account disabled, widget not available");
})();
"""


def create_provider_app(faults: Faults) -> Starlette:
    async def widget(request: Request) -> Response:
        body = BROKEN_WIDGET_JS if "third-party-script-error" in faults else WIDGET_JS
        return Response(body, media_type="text/javascript", headers={"cache-control": "no-store"})

    return Starlette(routes=[Route("/widget.js", widget)])


class PaymentProvider:
    """PayCo served by uvicorn on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, faults: Faults) -> None:
        self.app = create_provider_app(faults)
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> PaymentProvider:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="payco", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"the demo's payment provider did not start on {HOST}:{self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        self._server = self._thread = None

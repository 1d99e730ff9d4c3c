"""check_urls against a loopback server that misbehaves on purpose: redirects, 404s, slow answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auditor.config import CrawlLimits, SiteConfig
from auditor.crawl import fetch
from auditor.crawl.linkcheck import check_urls

pytestmark = pytest.mark.asyncio(loop_scope="module")

REDIRECTS = {
    "/one-hop": "/ok",
    "/three-hops": "/hop-2",
    "/hop-2": "/hop-3",
    "/hop-3": "/ok",
    "/loop-a": "/loop-b",
    "/loop-b": "/loop-a",
    "/to-404": "/missing",
}


class Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, str]] = []

    def _answer(self, body: bool) -> None:
        self.requests.append((self.command, self.path))
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
        elif self.path == "/slow":
            time.sleep(1.0)
            self.send_response(200)
        elif self.path == "/no-head" and self.command == "HEAD":
            self.send_response(405)
        elif self.path == "/forbidden":
            self.send_response(403)
        elif self.path in ("/ok", "/no-head"):
            self.send_response(200)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "BACKOFF_BASE_S", 0.01)


def site(port: int, request_timeout_s: float = 10.0) -> SiteConfig:
    """The loopback site; its answers come at once (but /slow's), so only the timeout test needs a
    request timeout below /slow's second: on a busy machine a redirect hop can take longer than 0.3 s."""
    return SiteConfig(
        base_url=f"http://127.0.0.1:{port}",
        crawl=CrawlLimits(request_timeout_s=request_timeout_s, retries=1),
    )


async def test_it_follows_redirect_chains_and_judges_where_they_end(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    got = await check_urls([f"{base}/one-hop", f"{base}/three-hops", f"{base}/to-404"], site=site(port))
    one, three, dead = got.values()
    assert (one.verdict, one.final_url, one.broken) == ("ok", f"{base}/ok", False)
    assert (three.verdict, three.broken) == ("redirect", False)
    assert three.outcome is not None and len(three.outcome.chain) == 3
    assert (dead.verdict, dead.status, dead.broken) == ("broken", 404, True)
    assert dead.describe() == "HTTP 302 -> 404"


async def test_more_redirects_than_allowed_and_loops_are_broken(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    got = await check_urls([f"{base}/three-hops", f"{base}/loop-a"], site=site(port), max_redirects=2)
    assert [(v.verdict, v.broken, v.describe()) for v in got.values()] == [
        ("loop", True, "more than 2 redirects"),
        ("loop", True, "redirect loop"),
    ]


async def test_a_404_and_a_timeout_are_broken_and_say_why(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    got = await check_urls([f"{base}/missing", f"{base}/slow"], site=site(port, request_timeout_s=0.3))
    missing, slow = got[f"{base}/missing"], got[f"{base}/slow"]
    assert (missing.verdict, missing.describe()) == ("broken", "HTTP 404")
    assert (slow.verdict, slow.status) == ("broken", None)
    assert slow.describe().startswith("timed out") and slow.evidence()["attempts"] == 2


async def test_head_is_tried_first_and_get_decides(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    Handler.requests.clear()
    got = await check_urls([f"{base}/no-head"], site=site(port))
    assert got[f"{base}/no-head"].verdict == "ok"
    assert Handler.requests == [("HEAD", "/no-head"), ("GET", "/no-head")]
    Handler.requests.clear()
    await check_urls([f"{base}/ok"], site=site(port), method="GET")
    assert Handler.requests == [("GET", "/ok")]


async def test_each_url_is_fetched_once_and_unusable_urls_are_never_fetched(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    Handler.requests.clear()
    urls = [f"{base}/ok", f"{base}/ok#top", "/relative/path", "http://[bad"]
    got = await check_urls(urls, site=site(port))
    assert list(got) == urls
    assert [v.verdict for v in got.values()] == ["ok", "ok", "malformed", "malformed"]
    assert got["/relative/path"].broken and "not an absolute" in got["/relative/path"].describe()
    assert Handler.requests == [("HEAD", "/ok")]


async def test_a_403_is_broken_on_the_site_but_only_blocked_elsewhere(port: int) -> None:
    own, other = f"http://127.0.0.1:{port}/forbidden", f"http://localhost:{port}/forbidden"
    got = await check_urls([own, other], site=site(port))
    assert [(v.verdict, v.broken) for v in got.values()] == [("broken", True), ("blocked", False)]

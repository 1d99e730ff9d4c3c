"""A hostile loopback shop for the crawler's tests: every kind of breakage a real site has.

`Site` serves pages a test writes (`pages`: path -> HTML) plus fixed hostile routes:

    /status/<code>          answers <code> (404, 410, 500, 401, 403 ...) every time
    /flaky                  500 on the first request, then a page
    /throttled?after=<s>    429 with Retry-After: <s> on the first request, then a page
    /throttled-forever      429 with Retry-After: 0 (or ?after=<s>), always
    /trickle?every=<s>      a 200 page whose body trickles one byte every <s> seconds, forever
    /nolocation?body=<text> 302 without a Location header, with <text> as its body (none by default;
                            body=page: a page linking to /status/404?via=nolocation)
    /images?src=<name>&w=<n> an image (PNG bytes); src=missing answers 404
    /slow                   answers after 5 s (longer than any test's timeout)
    /pause/<n>              answers after 0.1 s (to see how many requests run at once)
    /hops/<n>               302 to /hops/<n-1>; /hops/0 is a page (n hops in all)
    /to?url=<url>           302 to <url>
    /loop/a, /loop/b        302 to each other
    /moved                  301 to /hops/0 (one permanent hop)
    /huge                   a link, 200 KB of padding, then another link
    /malformed              broken markup with links inside
    /cp1252                 windows-1252 bytes declared in <meta charset> (or, with ?declared=header,
                            in the Content-Type only), with a non-ASCII link
    /menu/café              a page (only found if /cp1252 was decoded correctly)
    /calendar?month=<n>     links to the previous and next month, forever
    /refresh-header         a page with a `Refresh: 0; url=/status/404?via=header` header
    /robots.txt, /sitemap.xml and any other path: from `files` (path -> (content type, bytes)), else 404

`head_status` makes HEAD answer differently from GET on some paths; `headers` adds response headers.
`Site.hits` counts requests per "METHOD path?query", so tests can prove what was (not) fetched;
`times`, `peak_in_flight`, `secrets_seen` and `user_agents` record how the crawler behaved.
`RawServer` is an asyncio socket server for what uvicorn cannot do: status 999, connection resets,
interim answers (/101 Switching Protocols alone, /103 Early Hints before a page).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

HUGE_PADDING = 200_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page(*links: str, body: str = "") -> str:
    """A small HTML page with one <a href> per link."""
    anchors = "".join(f'<a href="{u}">link</a>\n' for u in links)
    return f"<!doctype html><html><head><title>t</title></head><body>{body}{anchors}</body></html>"


def urlset(*urls: str) -> bytes:
    """A sitemap listing `urls`."""
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


def sitemap_index(*urls: str) -> bytes:
    """A sitemap index pointing at the sitemaps `urls`."""
    entries = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    ).encode()


class Site:
    """One test's shop: the pages a test gives plus the fixed hostile routes."""

    def __init__(
        self,
        pages: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes]] | None = None,
        head_status: dict[str, int] | None = None,
        headers: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.pages = pages or {}
        self.files = files or {}
        # Paths whose HEAD answers differ from their GET (servers that mishandle HEAD).
        self.head_status = head_status or {}
        self.headers = headers or {}
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        # Every Cookie and X-Token request header received, to prove secrets stay on their host.
        self.secrets_seen: list[str] = []
        self.user_agents: set[str] = set()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.app = Starlette(routes=[Route("/{p:path}", self._handle, methods=["GET", "HEAD"])])

    def fetched(self, path: str) -> int:
        """How many requests (any method) reached `path` (with its query, if any)."""
        return self.hits[f"GET {path}"] + self.hits[f"HEAD {path}"]

    async def _handle(self, request: Request) -> Response:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        target = path + (f"?{request.url.query}" if request.url.query else "")
        self.hits[f"{request.method} {target}"] += 1
        self.times.setdefault(target, []).append(time.monotonic())
        for name in ("cookie", "x-token"):
            if name in request.headers:
                self.secrets_seen.append(request.headers[name])
        self.user_agents.add(request.headers.get("user-agent", ""))
        n = self.fetched(target)
        extra = self.headers.get(path, {})
        if request.method == "HEAD" and path in self.head_status:
            return Response(status_code=self.head_status[path], headers=extra)
        if path in self.pages:
            return HTMLResponse(self.pages[path], headers=extra)
        if path in self.files:
            content_type, data = self.files[path]
            return Response(data, media_type=content_type, headers=extra)
        if path.startswith("/status/"):
            return Response("status page", status_code=int(path.rsplit("/", 1)[1]), headers=extra)
        if path == "/flaky":
            return Response("oops", status_code=500) if n == 1 else HTMLResponse(page())
        if path == "/throttled":
            after = request.query_params.get("after", "1")
            if n == 1:
                return Response("slow down", status_code=429, headers={"Retry-After": after})
            return HTMLResponse(page())
        if path == "/throttled-forever":
            after = request.query_params.get("after", "0")
            return Response("slow down", status_code=429, headers={"Retry-After": after})
        if path == "/trickle":
            every = float(request.query_params.get("every", "0.5"))

            async def drip() -> AsyncIterator[bytes]:
                yield b"<html><body>"
                while True:
                    await asyncio.sleep(every)
                    yield b" "

            return StreamingResponse(drip(), media_type="text/html")
        if path == "/nolocation":
            body = request.query_params.get("body", "")
            if body == "page":
                body = page("/status/404?via=nolocation")
            return Response(body, status_code=302, media_type="text/html")
        if path == "/images":
            if request.query_params.get("src") == "missing":
                return Response("no such image", status_code=404)
            return Response(b"\x89PNG\r\n\x1a\n", media_type="image/png")
        if path == "/slow":
            await asyncio.sleep(5)
            return HTMLResponse(page())
        if path.startswith("/pause/"):
            await asyncio.sleep(0.1)
            return HTMLResponse(page())
        if path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            if left == 0:
                return HTMLResponse(page())
            return RedirectResponse(f"/hops/{left - 1}", status_code=302)
        if path == "/to":
            return RedirectResponse(request.query_params["url"], status_code=302)
        if path == "/loop/a":
            return RedirectResponse("/loop/b", status_code=302)
        if path == "/loop/b":
            return RedirectResponse("/loop/a", status_code=302)
        if path == "/moved":
            return RedirectResponse("/hops/0", status_code=301)
        if path == "/huge":
            padding = "<p>" + "x" * HUGE_PADDING + "</p>"
            return HTMLResponse(
                f'<html><body><a href="/status/404?huge=before">before</a>{padding}'
                '<a href="/status/404?huge=after">after</a></body></html>'
            )
        if path == "/malformed":
            # Misnested and unclosed tags; the last tag never ends, so browsers drop it.
            return HTMLResponse(
                "<html><body><div><p><a href='/status/404?malformed=1'>one<table><tr><td>"
                "<a href=/status/410?malformed=2>two</b></span></div>"
                "<a href=\"/hops/0\">three</i><a href='/status/404?malformed=3' "
            )
        if path == "/cp1252":
            # Declared once: in <meta charset>, or (?declared=header) only in the Content-Type.
            in_header = request.query_params.get("declared") == "header"
            meta = "" if in_header else '<meta charset="windows-1252">'
            html = (
                f"<html><head>{meta}<title>Café</title></head><body><p>Crème brûlée — 5 €</p>"
                '<a href="/menu/café">menu</a><a href="/status/404?cp1252=1">gone</a></body></html>'
            )
            # Starlette would add "charset=utf-8" to a text/html media type; set the header by hand.
            content_type = "text/html; charset=windows-1252" if in_header else "text/html"
            return Response(html.encode("cp1252"), headers={"content-type": content_type})
        if path == "/menu/café":
            return HTMLResponse(page())
        if path == "/calendar":
            month = int(request.query_params.get("month", "0"))
            return HTMLResponse(page(f"/calendar?month={month - 1}", f"/calendar?month={month + 1}"))
        if path == "/refresh-header":
            return HTMLResponse(page(), headers={"Refresh": "0; url=/status/404?via=header"})
        return Response("not found", status_code=404)


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run `app` on 127.0.0.1 in a thread; yields its base URL (no trailing slash)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", timeout_graceful_shutdown=0)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


class RawServer:
    """A bare HTTP/1.1 server: `/999` answers status 999 (LinkedIn), `/reset` resets the connection."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        method, target = head.split(b" ", 2)[:2]
        self.hits[f"{method.decode()} {target.decode()}"] += 1
        if target == b"/101":
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        if target == b"/103":
            writer.write(
                b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n"
                b"Connection: close\r\n\r\n<p>hello</p>\n"
            )
            await writer.drain()
            writer.close()
            return
        if target == b"/999":
            writer.write(b"HTTP/1.1 999 Request denied\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN: a connection reset.
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run the server in a thread; yields its base URL."""
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        self._ready.wait(5)
        try:
            yield f"http://127.0.0.1:{self.port}"
        finally:

            async def stop() -> None:
                assert self._server is not None
                self._server.close()

            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(5)

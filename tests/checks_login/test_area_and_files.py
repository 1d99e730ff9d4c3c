"""The account-area crawl and the delivery fetch against a small loopback site that needs a session
cookie: the crawl sends the session, stays in the area, never requests logout, and leaves delivery
links to the caller; a download is judged by status, content type and size."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from auditor.checks.delivery import DeliveryOptions, fetch_file, gather_links
from auditor.checks.login import stable_url
from auditor.config import SiteConfig
from auditor.crawl.area import crawl_area, session_client

ACCOUNT = b"""<html><body><h1>My account</h1>
<a href="/account/orders">Orders</a> <a href="/account/gone">Old invoices</a>
<a href="/download/abc123def456ghi">Download</a> <a href="/logout">Log out</a>
<a href="/about">About</a> <img src="/missing.png">
<footer><a href="/shipping-policy">Shipping</a></footer></body></html>"""
# The public home page shares the footer: its links are the crawl check's, not the account crawl's.
HOME = b"""<html><body><a href="/about">About</a>
<footer><a href="/shipping-policy">Shipping</a></footer></body></html>"""
ORDERS = b'<html><body><a href="/account">Back</a><a href="/invoice/7.pdf">Invoice</a></body></html>'


class Handler(BaseHTTPRequestHandler):
    requested: list[str] = []

    def log_message(self, *args: object) -> None: ...

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        Handler.requested.append(self.path)
        logged_in = "session=s3cret" in (self.headers.get("Cookie") or "")
        if self.path.startswith("/account") and not logged_in:
            self._send(303, b"", location="/login")
        elif self.path == "/account":
            self._send(200, ACCOUNT)
        elif self.path == "/":
            self._send(200, HOME)
        elif self.path == "/account/orders":
            self._send(200, ORDERS)
        elif self.path in ("/about", "/login", "/logout", "/invoice/7.pdf"):
            self._send(200, b"<html></html>")
        elif self.path == "/file.pdf":
            self._send(200, b"%PDF-1.4 " * 1000, ctype="application/pdf")
        elif self.path == "/empty.pdf":
            self._send(200, b"", ctype="application/pdf")
        elif self.path == "/moved":
            self._send(302, b"", location="/file.pdf")
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes, *, location: str = "", ctype: str = "text/html") -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def site(base_url: str) -> SiteConfig:
    return SiteConfig(base_url=base_url, crawl={"retries": 0})  # type: ignore[arg-type]


COOKIES = [{"name": "session", "value": "s3cret", "domain": "127.0.0.1", "path": "/"}]


async def test_the_area_crawl_uses_the_session_stays_inside_and_never_logs_out(site_url: str) -> None:
    Handler.requested.clear()
    s = site(site_url)
    async with session_client(s, COOKIES, s.crawl) as client:
        area = await crawl_area(
            client, s, site_url, paths=["/account"], skip_check=[re.compile("/download/")]
        )
    assert area.pages == [f"{site_url}/account", f"{site_url}/account/orders"]
    broken = sorted(u for u, link in area.links.items() if link.verdict and link.verdict.broken)
    assert broken == [f"{site_url}/account/gone", f"{site_url}/missing.png"]
    assert area.links[f"{site_url}/invoice/7.pdf"].sources == [f"{site_url}/account/orders"]
    assert area.links[f"{site_url}/download/abc123def456ghi"].verdict is None  # left to delivery
    assert f"{site_url}/logout" not in area.links
    # A dead footer link (also on the home page) is left to the crawl: one finding, not two.
    assert area.links[f"{site_url}/shipping-policy"].verdict is None
    assert f"{site_url}/shipping-policy" in area.site_chrome
    assert not any(p.startswith(("/logout", "/download/")) for p in Handler.requested)


async def test_without_the_session_the_area_is_left_not_crawled(site_url: str) -> None:
    s = site(site_url)
    async with session_client(s, [], s.crawl) as client:
        area = await crawl_area(client, s, site_url, paths=["/account"])
    assert area.pages == [] and area.links == {}
    assert area.left_area == {f"{site_url}/account": f"HTTP 200 at {site_url}/login"}


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/file.pdf", ""),
        ("/moved", ""),
        ("/nope.pdf", "HTTP 404 at {base}/nope.pdf"),
        ("/about", "an HTML page instead of a file"),
        ("/empty.pdf", "0 bytes (at least 1 expected)"),
    ],
)
async def test_a_download_must_be_a_non_empty_file(site_url: str, path: str, problem: str) -> None:
    async with httpx.AsyncClient() as client:
        got = await fetch_file(client, site_url + path, 1)
    assert got.problem(DeliveryOptions()) == problem.format(base=site_url)


async def test_only_accepted_content_types_are_delivered(site_url: str) -> None:
    async with httpx.AsyncClient() as client:
        got = await fetch_file(client, site_url + "/file.pdf", 100)
    assert got.bytes_read >= 100
    assert got.problem(DeliveryOptions(content_types=["video/"])) == (
        "content type application/pdf (accepted: video/)"
    )


def test_links_are_gathered_once_with_every_place_they_were_given() -> None:
    outputs = {
        "checkout": {"download_links": ["https://s/download/a1", "https://s/faq"]},
        "email": {"messages": {"confirmation": {"links": [{"url": "https://s/download/a1"}]}}},
        "login": {"account_download_links": ["https://s/download/a1", "https://s/download/b2"]},
    }
    links = gather_links(outputs, re.compile("/download/"))
    assert [(lk.url, lk.found_in) for lk in links] == [
        ("https://s/download/a1", ["thank-you page", "email", "account page"]),
        ("https://s/download/b2", ["account page"]),
    ]


def test_a_token_in_a_link_does_not_change_its_fingerprint_url() -> None:
    assert stable_url("https://s/download/Zk3_9fQx2LmPa81w") == "https://s/download/{token}"
    assert stable_url("https://s/download/qwertyuiopasdfghjkL") == "https://s/download/{token}"
    assert stable_url("https://s/account/orders") == "https://s/account/orders"
    assert stable_url("https://s/products/the-complete-course") == "https://s/products/the-complete-course"

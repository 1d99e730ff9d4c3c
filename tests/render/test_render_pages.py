"""`render_pages`, the API the campaign check builds on: order, links of the rendered DOM, mixed
content on an https page (a real TLS server on loopback), and what a page that never loads gives."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.crawl.render import RenderSettings, host_of, on_local_network, render_pages
from tests.crawl.site import Site, free_port, serve

pytestmark = pytest.mark.browser
in_chromium = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def plain() -> Iterator[tuple[Site, str]]:
    site = Site(files={"/app.js": ("text/javascript", b"window.loaded = 1;")})
    with serve(site.app) as url:
        yield site, url


@pytest.fixture(scope="module")
def https_site(tmp_path_factory: pytest.TempPathFactory, plain: tuple[Site, str]) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate for the https server")
    _, http_url = plain
    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    site = Site(
        pages={
            "/": (
                "<!doctype html><html><body><p>Secure page</p>"
                f'<img src="{http_url}/images?src=insecure">'
                f'<script src="{http_url}/app.js"></script>'
                '<a href="/next">next</a></body></html>'
            )
        }
    )
    port = free_port()
    config = uvicorn.Config(
        site.app, host="127.0.0.1", port=port, log_level="error", ssl_keyfile=str(key), ssl_certfile=str(cert)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@in_chromium
async def test_mixed_content_on_an_https_page(browser: Any, https_site: str, plain: tuple[Site, str]) -> None:
    _, http_url = plain
    [page] = await render_pages(
        [https_site + "/"], browser=browser, settings=RenderSettings(ignore_https_errors=True)
    )
    assert page.error is None and page.final_url == https_site + "/"
    mixed = {m.url: m for m in page.mixed_content}
    assert set(mixed) == {f"{http_url}/images?src=insecure", f"{http_url}/app.js"}
    assert mixed[f"{http_url}/app.js"].element == "script[src]"
    # Chromium loads http://127.0.0.1 (loopback counts as trustworthy), so nothing says "blocked"
    # here; on a real host an insecure script is blocked, and `blocked` says so.
    assert mixed[f"{http_url}/app.js"].blocked is not True
    # The browser's Mixed Content console lines are mixed content, not console errors.
    assert not [c for c in page.console_errors if "Mixed Content" in c.text]
    assert (f"{https_site}/next", "a[href]") in page.links


@in_chromium
async def test_pages_come_back_in_order_and_a_dead_host_is_an_error(
    browser: Any, plain: tuple[Site, str]
) -> None:
    site, url = plain
    site.pages["/a"] = "<!doctype html><a href='/b'>b</a><script src='/app.js'></script>"
    site.pages["/b"] = "<!doctype html><img data-srcset='/images?src=x 1x, /images?src=y 2x'>"
    dead = f"http://127.0.0.1:{free_port()}/"
    pages = await render_pages([url + "/a", dead, url + "/b"], browser=browser, concurrency=2)
    assert [p.url for p in pages] == [url + "/a", dead, url + "/b"]
    assert (url + "/b", "a[href]") in pages[0].links and (url + "/app.js", "script[src]") in pages[0].links
    assert pages[1].error is not None and "ERR_CONNECTION_REFUSED" in pages[1].error
    assert {(url + "/images?src=x", "img[srcset]"), (url + "/images?src=y", "img[srcset]")} <= set(
        pages[2].links
    )
    assert pages[0].error is None and pages[2].error is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_url_helpers_take_any_text(text: str) -> None:
    assert isinstance(host_of(text), str)
    assert isinstance(on_local_network(text), bool)
    assert isinstance(on_local_network("http://" + text), bool)


def test_local_network_hosts() -> None:
    assert on_local_network("http://127.0.0.1:8000/") and on_local_network("http://localhost/")
    assert on_local_network("http://10.1.2.3/") and on_local_network("http://[::1]:81/")
    assert not on_local_network("https://shop.example.com/") and not on_local_network("http://8.8.8.8/")

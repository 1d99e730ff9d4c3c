"""HTTPS as a customer's browser meets it: a certificate that does not verify is a dead link in words.

A real TLS server on loopback with a throwaway CA (trustme). The CA is trusted only through
`SSL_CERT_FILE` (as httpx and curl read it), which is read once per process: that case runs
`auditor crawl` in a fresh interpreter.
"""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.crawl.harness import CrawlFn
from tests.crawl.site import Site, page, serve

HOME = b"<!doctype html><html><body><a href='/about'>about</a> <a href='/missing'>gone</a></body></html>"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        body = {"/": HOME, "/about": b"<!doctype html><html><body>about</body></html>"}.get(path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS site on 127.0.0.1 whose certificate only a throwaway CA signs; (base URL, CA file)."""
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", ca_file
    finally:
        server.shutdown()
        server.server_close()


def _crawl(cwd: Path, url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", "crawl", url, "--no-database", "--quiet", "--report-dir", "out"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CI": "true", **env},
    )


def test_a_site_whose_ca_is_in_ssl_cert_file_is_crawled_over_https(
    https_site: tuple[str, Path], tmp_path: Path
) -> None:
    base, ca_file = https_site
    done = _crawl(tmp_path, f"{base}/", {"SSL_CERT_FILE": str(ca_file)})
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {(f["kind"], f["url"]) for f in report["findings"]} == {("broken_link", f"{base}/missing")}
    assert report["checks"][0]["stats"]["pages"] == 2


def test_an_untrusted_start_page_is_an_error_that_says_why_in_words(
    https_site: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = https_site
    done = _crawl(tmp_path, f"{base}/", {})
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (check,) = report["checks"]
    assert check["status"] == "error"
    assert "TLS certificate is not trusted (unable to get local issuer certificate)" in check["message"]
    assert "a browser shows a security warning" in check["message"]
    assert "_ssl.c" not in check["message"]


async def test_a_link_to_an_https_page_with_an_untrusted_certificate_is_broken(
    https_site: tuple[str, Path], crawl: CrawlFn
) -> None:
    https_base, _ = https_site
    site = Site(pages={"/": page("/fine", f"{https_base}/about"), "/fine": page()})
    with serve(site.app) as base:
        result = await crawl(base)
    assert result.found == {("broken_link", f"{https_base}/about")}
    message = result.one("broken_link", f"{https_base}/about").message
    assert "TLS certificate is not trusted" in message
    assert "SSL_CERT_FILE" in message


def test_an_unreadable_ssl_cert_file_is_an_error_that_names_it(
    https_site: tuple[str, Path], tmp_path: Path
) -> None:
    base, _ = https_site
    done = _crawl(tmp_path, f"{base}/", {"SSL_CERT_FILE": str(tmp_path / "no-such-ca.pem")})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr  # the preloading thread stays quiet too
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (check,) = report["checks"]
    assert check["status"] == "error"
    assert check["message"].startswith(
        f"SSL_CERT_FILE={tmp_path / 'no-such-ca.pem'} cannot be read as CA certificates (No such file"
    )

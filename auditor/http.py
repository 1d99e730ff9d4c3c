"""The one place an HTTP client is built: limits, timeouts, user agent, TLS, per-host headers.

`build_client` makes the httpx client most checks use; `build_session` the aiohttp session the
crawler's hot path uses (see `auditor.crawl.wire` for why). Site headers and cookies (often
credentials for a staging site) are attached per request and only for the host they were
configured for, so they never leak to external links.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING

from auditor.config import CrawlLimits, HostConfig, SiteConfig
from auditor.errors import InfrastructureError

if TYPE_CHECKING:
    # Imported where a client is built: the crawl's aiohttp wire must start without httpx (~70 ms).
    import aiohttp
    import httpx

# Longest response status line and header field accepted (aiohttp's default is 8 KiB; h11's 100 KB):
# shops do send long Set-Cookie and Link headers, and a long header is not a broken page.
_MAX_HEADER_BYTES = 65536


def _host_hook(hosts: Mapping[str, HostConfig]) -> Callable[[httpx.Request], Awaitable[None]]:
    async def add_host_headers(request: httpx.Request) -> None:
        # raw_host, not host: host decodes punycode with IDNA 2008, which rejects names browsers open.
        hc = hosts.get(request.url.netloc.decode("ascii", "replace").lower()) or hosts.get(
            request.url.raw_host.decode("ascii", "replace").lower()
        )
        if hc is None:
            return
        for k, v in hc.headers.items():
            request.headers[k] = v
        if hc.cookies:
            jar = "; ".join(f"{k}={v}" for k, v in hc.cookies.items())
            existing = request.headers.get("cookie")
            request.headers["cookie"] = f"{existing}; {jar}" if existing else jar

    return add_host_headers


def site_headers(hosts: Mapping[str, HostConfig], url: str) -> dict[str, str] | None:
    """The configured headers (and cookies, as one Cookie header) for `url`'s host, or None."""
    authority = url.split("://", 1)[-1]
    for sep in "/?#":
        authority = authority.split(sep, 1)[0]
    netloc = authority.rpartition("@")[2].lower()
    hc = hosts.get(netloc)
    if hc is None:
        hostname = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
        hc = hosts.get(hostname)
    if hc is None or not (hc.headers or hc.cookies):
        return None
    out = dict(hc.headers)
    if hc.cookies:
        out["Cookie"] = "; ".join(f"{k}={v}" for k, v in hc.cookies.items())
    return out


_TLS_LOCK = threading.Lock()


def preload_tls() -> None:
    """Start building the SSL context in a thread, so it is ready when the first client is built.

    Loading the CA bundle is ~30-50 ms of OpenSSL work that runs without the GIL: a run calls this
    before it imports its checks, and the bundle loads on the other core meanwhile. Built already
    (a worker's second run): nothing to do."""
    if _build_ssl_context.cache_info().currsize:
        return
    threading.Thread(target=_preload, name="auditor-tls-preload", daemon=True).start()


def _preload() -> None:
    # An unreadable CA file: the run's own call raises it again, where the check can report it.
    with contextlib.suppress(InfrastructureError):
        tls_context()


def tls_context() -> ssl.SSLContext:
    """One verifying SSL context for every client (built once; a caller waits for a preload)."""
    with _TLS_LOCK:
        return _build_ssl_context()


@cache
def _build_ssl_context() -> ssl.SSLContext:
    """What `httpx.create_ssl_context()` makes (SSL_CERT_FILE, else SSL_CERT_DIR, else certifi's
    bundle), without importing httpx for a crawl that only uses aiohttp. A CA file or folder that
    cannot be read is an InfrastructureError naming the variable (nothing over HTTPS can be checked)."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        where = os.environ.get(name)
        if where:
            try:
                if name == "SSL_CERT_FILE":
                    return ssl.create_default_context(cafile=where)
                return ssl.create_default_context(capath=where)
            except (OSError, ssl.SSLError) as e:
                why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                raise InfrastructureError(
                    f"{name}={where} cannot be read as CA certificates ({why}): point it at a PEM "
                    f"file (or a folder of them) or unset it"
                ) from e
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def build_client(
    site: SiteConfig,
    limits: CrawlLimits | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for auditing `site`: keep-alive, bounded pool, a timeout that is never none.

    Redirects are not followed automatically: callers record every hop themselves.
    """
    import httpx

    lim = limits or site.crawl
    return httpx.AsyncClient(
        headers={"User-Agent": site.user_agent, "Accept-Language": "en;q=0.9, *;q=0.5"},
        timeout=httpx.Timeout(lim.request_timeout_s),
        limits=httpx.Limits(
            max_connections=lim.concurrency,
            max_keepalive_connections=lim.concurrency,
            keepalive_expiry=30,
        ),
        follow_redirects=False,
        event_hooks={"request": [_host_hook(site.host_settings())]},
        transport=transport,
        trust_env=False,
        verify=tls_context(),
    )


def build_session(site: SiteConfig, limits: CrawlLimits | None = None) -> aiohttp.ClientSession:
    """An aiohttp session for crawling `site`: one keep-alive pool of `concurrency` connections
    (per-host limits are the crawler's own), the user agent, a total timeout per request. TLS is
    verified with the same CA bundle as httpx when each https request passes `ssl=tls_context()`.
    Redirects are never followed: pass allow_redirects=False and attach `site_headers` per request.

    Must be called inside a running event loop; close it with `async with` or `await .close()`.
    """
    import aiohttp

    lim = limits or site.crawl
    return aiohttp.ClientSession(
        headers={"User-Agent": site.user_agent, "Accept-Language": "en;q=0.9, *;q=0.5"},
        # No ssl= here: `auditor.crawl.wire` passes `tls_context()` with each https request, so a
        # crawl of an http:// site never waits for the CA bundle.
        connector=aiohttp.TCPConnector(limit=lim.concurrency, limit_per_host=0, keepalive_timeout=30),
        timeout=aiohttp.ClientTimeout(total=lim.request_timeout_s),
        # unsafe: keep cookies a site on an IP address sets too (httpx's jar does; aiohttp's skips them).
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        trust_env=False,
        max_line_size=_MAX_HEADER_BYTES,
        max_field_size=_MAX_HEADER_BYTES,
    )

"""The one place an httpx client is built: limits, timeouts, user agent, per-host headers.

Site headers and cookies (often credentials for a staging site) are attached per request and
only for the host they were configured for, so they never leak to external links.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from functools import cache

import httpx

from auditor.config import CrawlLimits, HostConfig, SiteConfig


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


@cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every client: loading the CA bundle takes ~30 ms each time."""
    return httpx.create_ssl_context()


def build_client(
    site: SiteConfig,
    limits: CrawlLimits | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for auditing `site`: keep-alive, bounded pool, a timeout that is never none.

    Redirects are not followed automatically: callers record every hop themselves.
    """
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
        verify=_ssl_context(),
    )

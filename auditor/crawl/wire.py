"""One HTTP exchange under the crawler's `Fetcher`: status, key headers and, when wanted, the body.

Two wires give the fetcher the same answers and the same failures (`WireError`, or `TimeoutError`):

- `AiohttpWire`, the crawl's own: on a loopback nginx it costs about 0.4 ms of CPU a request,
  where httpx/httpcore cost about 3.5 ms (`bench/crawl/wire.py` measures both), and the CPU is
  what bounds a crawl of a fast site;
- `HttpxWire`, over clients from `auditor.http.build_client`: the checks that share one httpx
  client with a logged-in session (the account area, link lists) keep using it.

Neither follows redirects (the fetcher records every hop) and both send the site's headers and
cookies only to the hosts they were configured for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import aiohttp
from yarl import URL

from auditor.http import site_headers, tls_context

if TYPE_CHECKING:
    import httpx

    from auditor.config import HostConfig

# Response headers worth keeping as evidence; request headers and cookies are never kept.
KEY_HEADERS = (
    "content-type",
    "content-length",
    "location",
    "retry-after",
    "cf-mitigated",
    "server",
    "refresh",
    "x-robots-tag",
)
# What to do with a body, decided from the status and key headers: read it (capped), measure
# only its first piece (is there one at all?), or leave it unread.
Take = Literal["body", "size", "none"]
Decide = Callable[[int, dict[str, str]], Take]
# What h11 says when a server answers 101 Switching Protocols to a plain request.
_SWITCH = "_SWITCH_UPGRADE"
_SWITCHED = (
    "the server answered 101 Switching Protocols (an interim answer meant for websockets) "
    "and never sent a page"
)


@dataclass(slots=True)
class Answer:
    """A final (non-1xx) answer: its status, key headers and what was read of its body."""

    status: int
    headers: dict[str, str]
    body: bytes | None = None
    size: int = 0
    truncated: bool = False


class WireError(Exception):
    """A request that got no usable answer, said in words a shop owner can act on.

    `transient`: worth trying again (a dropped connection); `malformed`: the server answered with
    something that is not HTTP (a HEAD answered with a body is one; a GET may still work).
    """

    def __init__(self, message: str, *, transient: bool = False, malformed: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
        self.malformed = malformed


class AiohttpWire:
    """Requests through one aiohttp session (its connection pool shared by the whole crawl)."""

    def __init__(self, session: aiohttp.ClientSession, hosts: Mapping[str, HostConfig]) -> None:
        self.session = session
        self.hosts = hosts

    async def exchange(self, url: str, method: str, decide: Decide, cap: int) -> Answer:
        """Send one request; read the body as `decide` says, never more than `cap` bytes."""
        try:
            # encoded=True: the URL is already serialised as a browser sends it; yarl must not requote it.
            target = URL(url, encoded=True)
            tls = tls_context() if url.startswith("https:") else True
            async with self.session.request(
                method, target, headers=site_headers(self.hosts, url), allow_redirects=False, ssl=tls
            ) as resp:
                status = resp.status
                if status < 200:
                    # aiohttp hands a 101 (or any interim answer with nothing after it) back as final.
                    raise WireError(_SWITCHED if status == 101 else _interim(status))
                raw = resp.headers
                headers = {k: ", ".join(raw.getall(k)) for k in KEY_HEADERS if k in raw}
                answer = Answer(status, headers)
                take = decide(status, headers)
                if take == "body":
                    answer.body, answer.truncated = await _read_capped(resp.content, cap)
                    answer.size = len(answer.body)
                elif take == "size":
                    answer.size = await _first_piece(resp.content)
                return answer
        except (TimeoutError, WireError):
            raise
        except aiohttp.ClientConnectorCertificateError as e:
            raise WireError(_certificate_problem(e.certificate_error)) from e
        except aiohttp.ClientConnectorError as e:
            raise WireError(f"could not connect: {e.os_error or e}") from e
        except aiohttp.ClientResponseError as e:
            # The answer could not be parsed as HTTP (aiohttp reports it as a 400 of its own).
            raise WireError(
                f"connection dropped: the server's answer is not valid HTTP ({_first_line(e.message)})",
                transient=True,
                malformed=True,
            ) from e
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as e:
            raise WireError(
                f"connection dropped: {_first_line(str(e)) or type(e).__name__}", transient=True
            ) from e
        except (aiohttp.ClientError, ValueError) as e:
            # ValueError: a URL nothing can build a request for (an invalid IPv6 host...).
            raise WireError(_first_line(str(e)) or type(e).__name__) from e


def _certificate_problem(error: BaseException) -> str:
    """What a customer's browser would say of a certificate that does not verify, in words."""
    why = getattr(error, "verify_message", None) or _first_line(str(error)) or type(error).__name__
    return (
        f"the site's TLS certificate is not trusted ({why}): a browser shows a security warning "
        "instead of the page. A private CA? Set SSL_CERT_FILE to its certificate"
    )


class HttpxWire:
    """Requests through httpx clients, spread over several small pools (the least busy first):
    httpcore scans every connection of a pool for every request, which beyond a few dozen
    connections costs more than the request itself."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self._busy = [0] * len(clients)

    async def exchange(self, url: str, method: str, decide: Decide, cap: int) -> Answer:
        """Send one request; read the body as `decide` says, never more than `cap` bytes."""
        import httpx  # not at module level: the crawl's own wire (aiohttp) must start without it

        busy = self._busy
        i = busy.index(min(busy))
        busy[i] += 1
        try:
            return await self._exchange(self.clients[i], url, method, decide, cap)
        except httpx.RemoteProtocolError as e:
            if _SWITCH in str(e):
                raise WireError(_SWITCHED) from e
            raise WireError(f"connection dropped: {e}", transient=True, malformed=True) from e
        except httpx.TimeoutException as e:
            raise WireError(
                "timed out: the server did not answer in time (request_timeout_s)", transient=True
            ) from e
        except (httpx.ReadError, httpx.WriteError) as e:
            raise WireError(f"connection dropped: {e or type(e).__name__}", transient=True) from e
        except httpx.ConnectError as e:
            raise WireError(f"could not connect: {e or type(e).__name__}") from e
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as e:
            # ValueError: URLs httpx cannot even build a request for (a bad IDNA host...).
            raise WireError(str(e) or type(e).__name__) from e
        finally:
            busy[i] -= 1

    async def _exchange(
        self, client: httpx.AsyncClient, url: str, method: str, decide: Decide, cap: int
    ) -> Answer:
        host = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        # httpx decodes a punycode host with IDNA 2008 to build the Host header and rejects names
        # browsers open (UTS 46: http://☃.example/ is xn--n3h.example); an explicit Host skips that.
        extra = {"Host": host.rpartition("@")[2]} if "xn--" in host else None
        async with client.stream(method, url, headers=extra) as resp:
            headers = {k: resp.headers[k] for k in KEY_HEADERS if k in resp.headers}
            answer = Answer(resp.status_code, headers)
            take = decide(resp.status_code, headers)
            if take == "body":
                buf = bytearray()
                async for chunk in resp.aiter_bytes():
                    buf += chunk
                    if len(buf) > cap:
                        del buf[cap:]
                        answer.truncated = True
                        break
                answer.body = bytes(buf)
                answer.size = len(buf)
            elif take == "size":
                async for chunk in resp.aiter_bytes():
                    if chunk:
                        answer.size = len(chunk)
                        break
            return answer


async def _read_capped(stream: aiohttp.StreamReader, cap: int) -> tuple[bytes, bool]:
    """The body up to `cap` bytes, and whether it was cut; the rest is never read."""
    buf = bytearray()
    async for chunk in stream.iter_any():
        buf += chunk
        if len(buf) > cap:
            del buf[cap:]
            return bytes(buf), True
    return bytes(buf), False


async def _first_piece(stream: aiohttp.StreamReader) -> int:
    """The size of the first non-empty piece of the body (0: the body is empty)."""
    async for chunk in stream.iter_any():
        if chunk:
            return len(chunk)
    return 0


def _interim(status: int) -> str:
    return f"the server answered only {status} (an interim answer, not a page) and never sent the page itself"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""

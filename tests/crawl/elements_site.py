"""A loopback shop for what a browser loads besides links: stylesheets, frames, srcsets, legacy pages.

`ElementsSite(files)` serves `files` (path -> (content type, bytes)) and answers 404 for anything
else. `requests` records every request exactly as it arrived on the wire ("GET /search?q=%FC"),
so a test can prove how the crawler encoded a URL, not how a framework decoded it.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HTML = "text/html; charset=utf-8"
CSS = "text/css"
PNG = "image/png"


def html(body: str, head: str = "") -> tuple[str, bytes]:
    """A UTF-8 HTML page with `head` and `body`."""
    doc = f"<!doctype html><html><head><title>t</title>{head}</head><body>{body}</body></html>"
    return HTML, doc.encode()


class ElementsSite:
    """Fixed files on one host, and a record of every request as it arrived."""

    def __init__(self, files: dict[str, tuple[str, bytes]]) -> None:
        self.files = files
        self.requests: list[str] = []
        self.app = Starlette(routes=[Route("/{p:path}", self._answer, methods=["GET", "HEAD"])])

    def fetched(self, target: str) -> bool:
        """Whether `target` (raw path and query, as on the wire) was requested."""
        return any(r.split(" ", 1)[1] == target for r in self.requests)

    async def _answer(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        target = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        self.requests.append(f"{request.method} {target}")
        found = self.files.get(request.url.path)
        if found is None:
            return Response("not here", status_code=404, media_type="text/plain")
        content_type, body = found
        return Response(body, media_type=content_type)

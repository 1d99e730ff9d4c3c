"""The dashboard's application: pages, the JSON API under /api/v1, /metrics, badges, static files.

`create_app` opens the store once and keeps it, the configuration, the session signer, the login
limiter and the server's own run pool in `app.state`, where every route finds them; the lifespan
closes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auditor.web import pages
from auditor.web.auth import LoginLimiter, LoginRequired, Sessions, current_user, secret_key

if TYPE_CHECKING:
    from auditor.config import Settings

STATIC = Path(__file__).parent / "static"
# Machine-readable paths answer errors as JSON; pages answer them as pages.
_JSON_PREFIXES = ("/api/", "/metrics", "/badge/")


class SecurityHeaders:
    """Headers every answer carries: no framing by other sites, no MIME sniffing, no referrer leaks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for k, v in (
                    (b"x-frame-options", b"SAMEORIGIN"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ):
                    if k not in names:
                        headers.append((k, v))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(_JSON_PREFIXES)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _wants_json(request):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(target, safe='')}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)
    titles = {
        400: "That did not work",
        403: "Not allowed",
        404: "Not found",
        405: "Not allowed",
        429: "Slow down",
    }
    user = current_user(request) if exc.status_code != 401 else None
    return pages.render(
        "error.html.j2",
        status_code=exc.status_code,
        title=titles.get(exc.status_code, "Something went wrong"),
        message=str(exc.detail),
        user=user,
    )


def _api_routes() -> tuple[list[BaseRoute], list[BaseRoute]]:
    from auditor.web import api

    return list(api.routes), list(getattr(api, "extra_routes", []))


def routes() -> list[BaseRoute]:
    api_routes, extra = _api_routes()
    return [
        Route("/login", pages.login_page, methods=["GET"], name="login"),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"], name="logout"),
        Route("/", pages.overview, methods=["GET"], name="overview"),
        Route("/sites/{site}", pages.site_page, methods=["GET"], name="site"),
        Route("/sites/{site}/run", pages.run_now, methods=["POST"], name="run_now"),
        Route("/runs/{run_id}", pages.run_page, methods=["GET"], name="run"),
        Route("/runs/{run_id}/events", pages.events, methods=["GET"], name="run_events"),
        Route("/runs/{run_id}/report/", pages.report, methods=["GET"], name="run_report"),
        Route("/runs/{run_id}/report/{path:path}", pages.report_file, methods=["GET"], name="run_file"),
        Route("/incidents", pages.incidents_page, methods=["GET"], name="incidents"),
        Route("/incidents/{incident_id}/note", pages.incident_note, methods=["POST"], name="incident_note"),
        Route("/trace/", pages.trace_file, methods=["GET"]),
        Route("/trace/{path:path}", pages.trace_file, methods=["GET"], name="trace"),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Mount("/api/v1", routes=api_routes),
        *extra,
    ]


def create_app(
    settings: Settings,
    *,
    database_url: str | None = None,
    secure_cookies: bool = False,
    workers: int = 1,
) -> Starlette:
    """The dashboard over the store of `settings` (or `database_url`), ready for uvicorn."""
    from auditor.app import open_store
    from auditor.store.web_models import ensure_tables
    from auditor.web.runs import Pool, set_pool

    store = open_store(settings, database_url)
    ensure_tables(store.engine)
    pool = Pool(workers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        set_pool(pool)
        try:
            yield
        finally:
            pool.shutdown()
            store.close()

    app = Starlette(
        routes=routes(),
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    state: Any = app.state
    state.settings = settings
    state.store = store
    state.sessions = Sessions(secret_key(store.engine), secure=secure_cookies)
    state.limiter = LoginLimiter()
    state.pool = pool
    state.trace_dir = pages.trace_viewer_dir()
    return app

"""The dashboard's pages: log in, overview, a site, a run (its report, artifacts, trace), incidents,
"run now" with live progress.

Every handler starts with `require_user`; what a user may not see is a 404 exactly like what does
not exist, so a viewer of one client cannot even learn another client's run ids. Reads go through
`auditor.web.queries` with the user's scope (the API reads the same way).
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse

from auditor.store.models import CheckRow, RunRow
from auditor.store.web_models import IncidentNoteRow, UserRow, latest_notes
from auditor.web import charts, queries
from auditor.web.auth import User, dummy_hash, require_admin, require_user, verify_password
from auditor.web.queries import EVERYONE, Scope

_env = Environment(
    loader=PackageLoader("auditor.web", "templates"),
    autoescape=select_autoescape(["j2", "html"]),
    enable_async=False,
)
_env.globals["strip_html"] = charts.strip_html
FINISHED = frozenset(queries.FINISHED)
INCIDENT_STATES = (("open", "Open"), ("acknowledged", "Acknowledged or muted"), ("resolved", "Resolved"))
MAX_NOTE = 2000
MAX_MUTE_H = 24 * 365


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("title", "auditor")
    context.setdefault("user", None)
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def scope_of(user: User, request: Request) -> Scope:
    settings = request.app.state.settings
    if user.client is None:
        return EVERYONE
    return Scope(frozenset(n for n in settings.sites if user.can_see_site(n, settings)))


def not_found(what: str) -> HTTPException:
    return HTTPException(404, f"there is no {what} here (or you may not see it)")


def _session(request: Request) -> Session:
    return Session(request.app.state.store.engine)


# ----------------------------------------------------------------------------------------------- login


def _safe_next(value: str | None) -> str:
    """Only a path of this site: never an absolute or protocol-relative URL (an open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return "/" if parts.scheme or parts.netloc else value


async def login_page(request: Request) -> Response:
    response = HTMLResponse("")
    token = request.app.state.sessions.login_form_token(request, response)
    return _with_login_form(request, response, token, next_=_safe_next(request.query_params.get("next")))


def _with_login_form(
    request: Request,
    response: Response,
    token: str,
    *,
    next_: str,
    problem: str | None = None,
    username: str = "",
) -> Response:
    fresh = render(
        "login.html.j2", title="Log in", next=next_, form_token=token, problem=problem, username=username
    )
    fresh.status_code = response.status_code
    for key, value in response.headers.items():
        if key.lower() in ("set-cookie", "retry-after"):
            fresh.headers.append(key, value)
    return fresh


async def login(request: Request) -> Response:
    state = request.app.state
    form = await request.form()
    name = str(form.get("username") or "")[:200]
    password = str(form.get("password") or "")[:1000]
    next_ = _safe_next(str(form.get("next") or "/"))
    ip = request.client.host if request.client else "?"

    def again(problem: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        response = HTMLResponse("", status_code=status_code, headers=headers)
        token = state.sessions.login_form_token(request, response)
        return _with_login_form(request, response, token, next_=next_, problem=problem, username=name)

    if not state.sessions.login_form_ok(request, str(form.get("csrf") or "")):
        return again("The login form was stale: please log in again.", 403)
    wait = state.limiter.retry_after(name, ip)
    if wait:
        return again(
            f"Too many failed logins: try again in {wait // 60 + 1} minute(s).",
            429,
            {"Retry-After": str(wait)},
        )
    with _session(request) as s:
        row = s.scalar(select(UserRow).where(UserRow.name == name))
        ok = await asyncio.to_thread(verify_password, row.password_hash if row else dummy_hash(), password)
    if row is None or not ok:
        state.limiter.failed(name, ip)
        return again("Wrong user name or password.", 401)
    state.limiter.succeeded(name)
    response = RedirectResponse(next_, status_code=303)
    state.sessions.start(request, response, row)
    return response


async def logout(request: Request) -> Response:
    await require_user(request)
    response = RedirectResponse("/login", status_code=303)
    request.app.state.sessions.end(request, response)
    return response


# --------------------------------------------------------------------------------------------- overview


async def overview(request: Request) -> Response:
    user = await require_user(request)
    settings = request.app.state.settings
    scope = scope_of(user, request)
    client = request.query_params.get("client") or None
    tag = request.query_params.get("tag") or None
    sort: queries.SortKey = "broken" if request.query_params.get("sort") == "broken" else "name"
    with _session(request) as s:
        rows = queries.overview(s, settings, scope, client=client, tag=tag, sort=sort)
    metas = [queries.site_meta(n, c) for n, c in settings.sites.items() if scope.allows(n)]
    clients = sorted({m.client for m in metas if m.client})
    tags = sorted({t for m in metas for t in m.tags})
    return render(
        "overview.html.j2",
        title="Overview",
        user=user,
        rows=rows,
        clients=clients if user.client is None else [],
        tags=tags,
        client=client,
        tag=tag,
        sort=sort,
        flash=request.query_params.get("flash"),
        self_url=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


# ------------------------------------------------------------------------------------------------- site


async def site_page(request: Request) -> Response:
    user = await require_user(request)
    settings = request.app.state.settings
    name = request.path_params["site"]
    with _session(request) as s:
        detail = queries.site_detail(s, settings, scope_of(user, request), name)
        if detail is None:
            raise not_found("site")
        ids = [i.id for i in detail.open_incidents + detail.resolved_incidents]
        notes = latest_notes(s, ids)
    from auditor.web.runs import audits_of

    audits = [
        {"name": a, "status": detail.row.audits.get(a), "schedule": settings.audits[a].schedule}
        for a in audits_of(settings, name)
    ]
    figures: dict[str, Any] | None = None
    if detail.history:
        findings, legend = charts.findings_chart(detail.history)
        figures = {
            "status": charts.status_chart(detail.history),
            "duration": charts.duration_chart(detail.history),
            "findings": findings,
            "legend": legend,
        }
    return render(
        "site.html.j2",
        title=name,
        user=user,
        row=detail.row,
        audits=audits,
        history=detail.history,
        charts=figures,
        open_incidents=detail.open_incidents,
        resolved_incidents=detail.resolved_incidents,
        notes=notes,
    )


async def run_now(request: Request) -> Response:
    user = await require_user(request)
    require_admin(user)
    settings = request.app.state.settings
    name = request.path_params["site"]
    if not scope_of(user, request).allows(name) or name not in settings.sites:
        raise not_found("site")
    form = await request.form()
    audit = str(form.get("audit") or "") or None
    from auditor.errors import BrokerUnavailable
    from auditor.web.runs import start_run

    try:
        started = await start_run(
            settings, request.app.state.store, site=name, audit=audit, pool=request.app.state.pool
        )
    except LookupError as e:
        raise HTTPException(400, str(e)) from None
    except BrokerUnavailable as e:  # with a [queue]: nothing was queued; say why, in our words
        raise HTTPException(503, str(e)) from None
    if started.run_id is None:
        return RedirectResponse(f"/sites/{quote(name)}", status_code=303)
    return RedirectResponse(f"/runs/{quote(started.run_id)}", status_code=303)


# -------------------------------------------------------------------------------------------------- run


def _run_dir(detail: queries.RunDetail) -> Path | None:
    return Path(detail.report_dir) if detail.report_dir else None


def _visible_run(request: Request, user: User, run_id: str) -> queries.RunDetail | None:
    if len(run_id) > 64:
        return None
    with _session(request) as s:
        return queries.run_detail(s, scope_of(user, request), run_id)


def _pending_here(request: Request, run_id: str) -> bool:
    """A run this server just started that has not written its row yet."""
    return run_id in request.app.state.pool.live


async def run_page(request: Request) -> Response:
    user = await require_user(request)
    run_id = request.path_params["run_id"]
    detail = _visible_run(request, user, run_id)
    if detail is None:
        if _pending_here(request, run_id) and user.is_admin:
            return render(
                "run.html.j2",
                title=f"Run {run_id}",
                user=user,
                run_id=run_id,
                run=None,
                detail=None,
                live=True,
            )
        raise not_found("run")
    base = _run_dir(detail)
    checks = []
    for c in detail.checks:
        links = []
        for a in c.artifacts:
            rel = _relative(a.get("path", ""), base)
            if rel is None:
                continue
            href = f"/runs/{quote(run_id)}/report/{quote(rel)}"
            trace = None
            if a.get("kind") == "trace" or rel.endswith("trace.zip"):
                absolute = str(request.url.replace(path=href, query=""))
                trace = f"/trace/index.html?trace={quote(absolute, safe='')}"
            links.append({"name": a.get("name", rel), "href": href, "trace": trace})
        checks.append({**c.__dict__, "links": links})
    live = detail.run.status not in FINISHED
    return render(
        "run.html.j2",
        title=f"Run {run_id}",
        user=user,
        run_id=run_id,
        run=detail.run,
        detail=detail,
        checks=checks,
        live=live,
    )


def _relative(path: str, base: Path | None) -> str | None:
    """`path` relative to the run's report folder; None when it is not inside it."""
    if not path or base is None:
        return None
    p = Path(path)
    if not p.is_absolute():
        p = base / p
    try:
        return p.resolve().relative_to(base.resolve()).as_posix()
    except (ValueError, OSError):
        return None


async def report(request: Request) -> Response:
    """The run's report, rendered from the store (with its history), links relative to this URL."""
    user = await require_user(request)
    run_id = request.path_params["run_id"]
    detail = _visible_run(request, user, run_id)
    if detail is None:
        raise not_found("run")
    store = request.app.state.store

    def build() -> str:
        from auditor.report import load_history, render_html

        run = store.load_run(run_id)
        if run is None:
            raise not_found("run")
        return render_html(run, _run_dir(detail), load_history(store, run))

    html = await asyncio.to_thread(build)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def report_file(request: Request) -> Response:
    """A file of the run's report folder (a screenshot, a trace...), for those who may see the run."""
    user = await require_user(request)
    run_id = request.path_params["run_id"]
    detail = _visible_run(request, user, run_id)
    base = _run_dir(detail) if detail else None
    if detail is None or base is None:
        raise not_found("run")
    rel = request.path_params["path"]
    if not rel or rel == "report.html":
        return RedirectResponse(f"/runs/{quote(run_id)}/report/", status_code=303)
    try:
        target = (base / rel).resolve()
        target.relative_to(base.resolve())
    except (ValueError, OSError):
        raise not_found("file") from None
    if not target.is_file():
        raise not_found("file")
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    # A page the shop served, kept as evidence, must not run as if it were the dashboard's.
    headers = {
        "Content-Security-Policy": "sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private",
    }
    return FileResponse(target, media_type=kind, headers=headers)


async def events(request: Request) -> Response:
    """Server-sent events of a running audit: `progress` while it runs, `done` when it has ended."""
    user = await require_user(request)
    run_id = request.path_params["run_id"]
    if _visible_run(request, user, run_id) is None and not (_pending_here(request, run_id) and user.is_admin):
        raise not_found("run")
    engine = request.app.state.store.engine
    pool = request.app.state.pool

    def snapshot() -> tuple[str, list[str]]:
        with Session(engine) as s:
            row = s.get(RunRow, run_id)
            done = list(
                s.execute(
                    select(CheckRow.name, CheckRow.status)
                    .where(CheckRow.run_id == run_id)
                    .order_by(CheckRow.id)
                )
            )
        live = pool.live.get(run_id)
        status = row.status if row else ("error" if live and live.error else "queued")
        lines = [f"{n}: {st}" for n, st in done]
        if live is not None:
            finished = {n for n, _ in done}
            for name, counters in list(live.current.items()):
                shown = " ".join(f"{k}={v}" for k, v in counters.items())
                lines.append(f"{name}: running {shown}".rstrip())
            waiting = [c for c in live.checks if c not in finished and c not in live.current]
            if waiting:
                lines.append(f"waiting: {', '.join(waiting)}")
            if live.error:
                lines.append(f"could not run: {live.error}")
                status = "error" if row is None else status
        return status, lines

    async def stream() -> AsyncIterator[str]:
        last = None
        for _ in range(7200):  # at most two hours of half-second polls
            status, lines = await asyncio.to_thread(snapshot)
            payload = json.dumps({"status": status, "lines": lines})
            if payload != last:
                yield f"event: progress\ndata: {payload}\n\n"
                last = payload
            live = pool.live.get(run_id)
            if status in FINISHED or (status == "error" and live is not None and live.finished):
                yield f"event: done\ndata: {json.dumps({'status': status})}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -------------------------------------------------------------------------------------------- incidents


async def incidents_page(request: Request) -> Response:
    user = await require_user(request)
    state = request.query_params.get("state") or "open"
    if state not in {s for s, _ in INCIDENT_STATES}:
        state = "open"
    site = request.query_params.get("site") or None
    scope = scope_of(user, request)
    now = datetime.now(UTC)
    with _session(request) as s:
        unresolved = [
            i
            for status in ("open", "pending")
            for i in queries.list_incidents(s, scope, status=status, site=site, limit=500).items
        ]
        resolved = queries.list_incidents(s, scope, status="resolved", site=site, limit=200).items
        notes = latest_notes(s, [i.id for i in unresolved + resolved])
    from auditor.store.web_models import is_silenced

    quiet = [i for i in unresolved if is_silenced(notes.get(i.id), now)]
    loud = [i for i in unresolved if not is_silenced(notes.get(i.id), now)]
    groups = {"open": loud, "acknowledged": quiet, "resolved": resolved}
    return render(
        "incidents.html.j2",
        title="Incidents",
        user=user,
        state=state,
        states=INCIDENT_STATES,
        counts={k: len(v) for k, v in groups.items()},
        incidents=groups[state],
        notes=notes,
        site=site,
        flash=request.query_params.get("flash"),
    )


async def incident_note(request: Request) -> Response:
    """Acknowledge, mute (for some hours, or until resolved) or unmute an incident, with a note."""
    user = await require_user(request)
    require_admin(user)
    raw = request.path_params["incident_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise not_found("incident")
    form = await request.form()
    action = str(form.get("action") or "")
    if action not in ("ack", "mute", "unmute"):
        raise HTTPException(400, "action is one of ack, mute, unmute")
    note = str(form.get("note") or "").strip()[:MAX_NOTE]
    hours_text = str(form.get("hours") or "").strip()
    now = datetime.now(UTC)
    until = None
    if action == "mute" and hours_text:
        try:
            hours = float(hours_text)
        except ValueError:
            raise HTTPException(400, f"mute for how many hours? {hours_text[:20]!r} is no number") from None
        if not 0 < hours <= MAX_MUTE_H:
            raise HTTPException(400, f"a mute lasts more than 0 and at most {MAX_MUTE_H} hours")
        until = now + timedelta(hours=hours)
    with _session(request) as s, s.begin():
        found = queries.incident(s, scope_of(user, request), int(raw))
        if found is None:
            raise not_found("incident")
        s.add(
            IncidentNoteRow(
                incident_id=found.id, action=action, by_user=user.name, at=now, note=note, until=until
            )
        )
    if request.headers.get("hx-request"):
        with _session(request) as s:
            note_row = latest_notes(s, [found.id]).get(found.id)
            html = _env.get_template("incident_row.html.j2").render(incident=found, note=note_row, user=user)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
    done = {"ack": "acknowledged", "mute": "muted", "unmute": "unmuted"}[action]
    # Back to the page the form was on (the incidents list or a site's page), with a message.
    came_from = _safe_next(urlsplit(request.headers.get("referer", "")).path)
    back = came_from if came_from.startswith(("/incidents", "/sites/")) else "/incidents"
    return RedirectResponse(f"{back}?flash={quote(f'Incident {found.id} {done}.')}", status_code=303)


# -------------------------------------------------------------------------------------------- trace viewer


def trace_viewer_dir() -> Path | None:
    """The trace viewer that ships with Playwright (its static files), if Playwright is installed."""
    try:
        import playwright
    except ImportError:
        return None
    folder = Path(playwright.__file__).parent / "driver" / "package" / "lib" / "vite" / "traceViewer"
    return folder if (folder / "index.html").is_file() else None


async def trace_file(request: Request) -> Response:
    await require_user(request)
    folder = request.app.state.trace_dir
    if folder is None:
        raise HTTPException(404, "the trace viewer comes with Playwright, which is not installed here")
    rel = request.path_params.get("path") or "index.html"
    try:
        target = (folder / rel).resolve()
        target.relative_to(folder.resolve())
    except (ValueError, OSError):
        raise not_found("file") from None
    if not target.is_file():
        raise not_found("file")
    headers = {"Service-Worker-Allowed": "/trace/"} if target.name == "sw.bundle.js" else {}
    return FileResponse(target, headers=headers)

"""The JSON API under /api/v1/: sites, runs, a run's findings, incidents and "run now".

Every route asks `auth.require_user` who is calling (a session cookie or `Authorization: Bearer
TOKEN`), reads through `auditor.web.queries` with that user's scope, and answers with the pydantic
models below, whose JSON schemas make the OpenAPI document at /api/v1/openapi.json: what the
document says is what the routes return. An object outside the caller's scope is a 404, exactly
like one that does not exist. Bad parameters are a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from auditor.config import Settings
from auditor.store import Store
from auditor.web import queries
from auditor.web.queries import EVERYONE, BadCursor, Scope

if TYPE_CHECKING:
    from auditor.web.auth import User

# Page sizes: the default and the most one request may ask for.
RUNS_LIMIT = (50, 500)
FINDINGS_LIMIT = (100, 1000)
INCIDENTS_LIMIT = (50, 500)
HISTORY_LIMIT = (queries.SITE_RUNS, 500)
# Longest text accepted in a path or query parameter (site, audit, kind...).
MAX_TEXT = 300
INCIDENT_STATES = ("pending", "open", "resolved")


# ----------------------------------------------------------------------------------------------- models


class StripRunOut(BaseModel):
    """One cell of a site's status strip."""

    id: str
    status: str
    started_at: datetime


class RunOut(BaseModel):
    """A run as lists show it."""

    id: str
    audit: str
    site: str
    status: str = Field(description="running, pass, warn, fail, error, interrupted (or queued)")
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None


class SiteOut(BaseModel):
    """A site with its status now."""

    name: str
    base_url: str | None
    client: str | None
    tags: list[str]
    public: bool
    status: str = Field(
        description="the worst of its audits' last finished runs: fail, error, "
        "interrupted, warn, pass, or unknown before any run finished"
    )
    running: bool
    last_run: RunOut | None
    open_incidents: int
    broken_since: datetime | None = Field(description="start of the oldest run of the current failing streak")
    audits: dict[str, str] = Field(description="each audit's last finished run's status")
    strip: list[StripRunOut] = Field(description=f"the last {queries.STRIP} runs, oldest first")


class SitesOut(BaseModel):
    sites: list[SiteOut]


class HistoryRunOut(RunOut):
    """A run in a site's history, with its findings by kind."""

    findings: dict[str, int]


class NoteOut(BaseModel):
    """The newest note on an incident."""

    action: str = Field(description="ack, mute or unmute")
    by: str
    at: datetime
    text: str
    until: datetime | None = Field(description="when a mute ends by itself; null: until unmuted")


class IncidentOut(BaseModel):
    """One problem of one site from its first failure to its fix."""

    id: int
    site: str
    audit: str
    check: str
    fingerprint: str = Field(description="what identifies the problem across runs (with audit and check)")
    kind: str
    severity: str
    url: str
    message: str
    status: str = Field(description="pending, open or resolved")
    first_seen_at: datetime
    last_seen_at: datetime
    first_seen_run: str
    last_seen_run: str
    resolved_at: datetime | None
    acknowledged: bool = Field(description="acknowledged, or muted until later: no reminders are sent")
    note: NoteOut | None


class SiteDetailOut(SiteOut):
    """A site with its run history (newest first) and its incidents."""

    history: list[HistoryRunOut]
    incidents: list[IncidentOut]


class RunsOut(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class ArtifactOut(BaseModel):
    name: str
    kind: str


class CheckOut(BaseModel):
    name: str
    kind: str
    status: str
    message: str | None
    duration_s: float
    artifacts: list[ArtifactOut]


class RunDetailOut(RunOut):
    """A run with its checks and its findings counted."""

    base_url: str
    trigger: str
    stats: dict[str, Any]
    checks: list[CheckOut]
    findings_by_kind: dict[str, int]
    findings_by_severity: dict[str, int]


class FindingOut(BaseModel):
    id: int
    check: str
    kind: str
    severity: str
    url: str
    source: str | None
    element: str | None
    message: str
    fingerprint: str
    evidence: dict[str, Any]


class FindingsOut(BaseModel):
    findings: list[FindingOut]
    next_cursor: str | None


class IncidentsOut(BaseModel):
    incidents: list[IncidentOut]
    next_cursor: str | None


class RunNowIn(BaseModel):
    """Which audit of the site to run; the site's only audit when left out."""

    audit: str | None = None


class RunNowOut(BaseModel):
    run_id: str | None = Field(description="the new run's id, when known at once")
    queued: bool = Field(description="true when handed to the [queue]; false when the server runs it")
    message: str


class ErrorOut(BaseModel):
    error: str


# ------------------------------------------------------------------------------------------- converters


def run_out(r: queries.RunBrief) -> RunOut:
    return RunOut(
        id=r.id,
        audit=r.audit,
        site=r.site,
        status=r.status,
        started_at=r.started_at,
        finished_at=r.finished_at,
        duration_s=r.duration_s,
    )


def _site_fields(row: queries.SiteRow) -> dict[str, Any]:
    m = row.meta
    return {
        "name": m.name,
        "base_url": m.base_url,
        "client": m.client,
        "tags": list(m.tags),
        "public": m.public,
        "status": row.status,
        "running": row.running,
        "last_run": run_out(row.last_run) if row.last_run else None,
        "open_incidents": row.open_incidents,
        "broken_since": row.broken_since,
        "audits": row.audits,
        "strip": [StripRunOut(id=r.id, status=r.status, started_at=r.started_at) for r in row.strip],
    }


def _iso(d: datetime) -> str:
    # As pydantic writes an aware UTC datetime: "2026-11-03T03:00:00Z".
    return d.isoformat().replace("+00:00", "Z")


def site_json(row: queries.SiteRow) -> dict[str, Any]:
    """`SiteOut(**_site_fields(row)).model_dump(mode="json")`, written out by hand: the overview
    holds 30 strip cells per site, and building 15,000 models for 500 sites costs more than the
    queries (test_api checks both give the same JSON)."""
    m, last = row.meta, row.last_run
    return {
        "name": m.name,
        "base_url": m.base_url,
        "client": m.client,
        "tags": list(m.tags),
        "public": m.public,
        "status": row.status,
        "running": row.running,
        "last_run": None
        if last is None
        else {
            "id": last.id,
            "audit": last.audit,
            "site": last.site,
            "status": last.status,
            "started_at": _iso(last.started_at),
            "finished_at": _iso(last.finished_at) if last.finished_at else None,
            "duration_s": last.duration_s,
        },
        "open_incidents": row.open_incidents,
        "broken_since": _iso(row.broken_since) if row.broken_since else None,
        "audits": dict(row.audits),
        "strip": [{"id": r.id, "status": r.status, "started_at": _iso(r.started_at)} for r in row.strip],
    }


def incident_out(i: queries.IncidentView) -> IncidentOut:
    n = i.note
    note = NoteOut(action=n.action, by=n.by, at=n.at, text=n.text, until=n.until) if n else None
    fields = {name: getattr(i, name) for name in IncidentOut.model_fields if name != "note"}
    return IncidentOut(**fields, note=note)


# -------------------------------------------------------------------------------------------- parameters


def _bad(message: str) -> HTTPException:
    return HTTPException(400, message)


def _text(value: str, name: str) -> str:
    """A path or query value fit for the database: no NUL, no lone surrogate, not huge."""
    if len(value) > MAX_TEXT:
        raise _bad(f"{name} is longer than {MAX_TEXT} characters")
    if "\x00" in value:
        raise _bad(f"{name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(f"{name} is not valid text") from None
    return value


def _query(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise _bad(f"{name} is given {len(values)} times; give it once")
    return _text(values[0], name)


def _limit(request: Request, bounds: tuple[int, int]) -> int:
    raw = _query(request, "limit")
    if raw is None:
        return bounds[0]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= bounds[1]:
        raise _bad(f"limit must be a whole number from 1 to {bounds[1]}, got {raw!r}")
    return int(raw)


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = _query(request, name)
    if raw is not None and raw not in allowed:
        raise _bad(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def _not_found(what: str) -> HTTPException:
    return HTTPException(404, f"no such {what}")


# ------------------------------------------------------------------------------------------------ routes


@dataclass(frozen=True)
class Context:
    """Who asks, and the configuration and store the server was started with."""

    user: User
    settings: Settings
    store: Store


async def context(request: Request) -> Context:
    """The caller (401 when nobody is logged in and no valid token is sent) and the app's state."""
    from auditor.web.auth import require_user

    user = await require_user(request)
    state = request.app.state
    return Context(user=user, settings=state.settings, store=state.store)


def optional_user(request: Request) -> User | None:
    """The caller if logged in or sending a valid token, else None (for what anyone may read)."""
    from auditor.web.auth import current_user

    return current_user(request)


def scope_for(user: User, settings: Settings) -> Scope:
    """The sites `user` may see: all (recorded ones too) for a user of no client, else theirs."""
    if user.client is None:
        return EVERYONE
    return Scope(frozenset(name for name in settings.sites if user.can_see_site(name, settings)))


def error(status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorOut(error=message).model_dump(), status_code=status_code, headers=headers)


def _json(model: BaseModel, status_code: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code)


def json_errors(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Answer an HTTPException (401 from the login check, 400, 404...) as JSON `{"error": ...}`."""

    async def wrapped(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
            return response
        except HTTPException as e:
            return error(e.status_code, str(e.detail), dict(e.headers) if e.headers else None)

    return wrapped


Handler = Callable[[Request, Context, Session, Scope], BaseModel | JSONResponse]


def _endpoint(handler: Handler) -> Callable[[Request], Any]:
    """A GET route: who is asking, a read session, their scope; errors as JSON."""

    async def endpoint(request: Request) -> Response:
        ctx = await context(request)
        scope = scope_for(ctx.user, ctx.settings)
        with Session(ctx.store.engine) as s:
            try:
                answer = handler(request, ctx, s, scope)
                return answer if isinstance(answer, JSONResponse) else _json(answer)
            except BadCursor as e:
                raise _bad(str(e)) from None

    return json_errors(endpoint)


def list_sites(request: Request, ctx: Context, s: Session, scope: Scope) -> JSONResponse:
    sort = _choice(request, "sort", ("name", "broken")) or "name"
    rows = queries.overview(
        s,
        ctx.settings,
        scope,
        client=_query(request, "client"),
        tag=_query(request, "tag"),
        sort="broken" if sort == "broken" else "name",
    )
    return JSONResponse({"sites": [site_json(r) for r in rows]})


def get_site(request: Request, ctx: Context, s: Session, scope: Scope) -> SiteDetailOut:
    name = _text(request.path_params["site"], "site")
    detail = queries.site_detail(s, ctx.settings, scope, name, runs=_limit(request, HISTORY_LIMIT))
    if detail is None:
        raise _not_found("site")
    return SiteDetailOut(
        **_site_fields(detail.row),
        history=[HistoryRunOut(**run_out(p.run).model_dump(), findings=p.findings) for p in detail.history],
        incidents=[incident_out(i) for i in [*detail.open_incidents, *detail.resolved_incidents]],
    )


def list_runs(request: Request, ctx: Context, s: Session, scope: Scope) -> RunsOut:
    page = queries.list_runs(
        s,
        scope,
        site=_query(request, "site"),
        audit=_query(request, "audit"),
        status=_query(request, "status"),
        limit=_limit(request, RUNS_LIMIT),
        cursor=_query(request, "cursor"),
    )
    return RunsOut(runs=[run_out(r) for r in page.items], next_cursor=page.next_cursor)


def get_run(request: Request, ctx: Context, s: Session, scope: Scope) -> RunDetailOut:
    detail = queries.run_detail(s, scope, _text(request.path_params["run_id"], "run id"))
    if detail is None:
        raise _not_found("run")
    return RunDetailOut(
        **run_out(detail.run).model_dump(),
        base_url=detail.base_url,
        trigger=detail.trigger,
        stats=detail.stats,
        checks=[
            CheckOut(
                name=c.name,
                kind=c.kind,
                status=c.status,
                message=c.message,
                duration_s=c.duration_s,
                artifacts=[
                    ArtifactOut(name=a.get("name", ""), kind=a.get("kind", "file")) for a in c.artifacts
                ],
            )
            for c in detail.checks
        ],
        findings_by_kind=detail.findings_by_kind,
        findings_by_severity=detail.findings_by_severity,
    )


def get_findings(request: Request, ctx: Context, s: Session, scope: Scope) -> FindingsOut:
    page = queries.run_findings(
        s,
        scope,
        _text(request.path_params["run_id"], "run id"),
        kind=_query(request, "kind"),
        severity=_query(request, "severity"),
        check=_query(request, "check"),
        limit=_limit(request, FINDINGS_LIMIT),
        cursor=_query(request, "cursor"),
    )
    if page is None:
        raise _not_found("run")
    return FindingsOut(
        findings=[
            FindingOut(
                id=f.id,
                check=f.check,
                kind=f.kind,
                severity=f.severity,
                url=f.url,
                source=f.source,
                element=f.element,
                message=f.message,
                fingerprint=f.fingerprint,
                evidence=f.evidence,
            )
            for f in page.items
        ],
        next_cursor=page.next_cursor,
    )


def list_incidents(request: Request, ctx: Context, s: Session, scope: Scope) -> IncidentsOut:
    acknowledged = _choice(request, "acknowledged", ("true", "false"))
    page = queries.list_incidents(
        s,
        scope,
        status=_choice(request, "status", INCIDENT_STATES),
        acknowledged=None if acknowledged is None else acknowledged == "true",
        site=_query(request, "site"),
        audit=_query(request, "audit"),
        limit=_limit(request, INCIDENTS_LIMIT),
        cursor=_query(request, "cursor"),
    )
    return IncidentsOut(incidents=[incident_out(i) for i in page.items], next_cursor=page.next_cursor)


def get_incident(request: Request, ctx: Context, s: Session, scope: Scope) -> IncidentOut:
    raw = request.path_params["incident_id"]
    # An id past the column's range cannot exist (and PostgreSQL would refuse to compare it).
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > 2**31 - 1:
        raise _not_found("incident")
    found = queries.incident(s, scope, int(raw))
    if found is None:
        raise _not_found("incident")
    return incident_out(found)


async def run_now(request: Request) -> Response:
    """Start a run of one of the site's audits now: on the queue when there is one, else in the server."""
    ctx = await context(request)
    site = _text(request.path_params["site"], "site")
    if not scope_for(ctx.user, ctx.settings).allows(site) or site not in ctx.settings.sites:
        raise _not_found("site")
    if ctx.user.role != "admin":
        raise HTTPException(403, "only an admin may start runs")
    try:
        body = RunNowIn.model_validate_json(await request.body() or b"{}")
    except ValueError as e:
        raise _bad(f'the body must be JSON like {{"audit": "nightly"}} ({e})') from None
    from auditor.errors import BrokerUnavailable
    from auditor.web.runs import start_run

    try:
        started = await start_run(ctx.settings, ctx.store, site=site, audit=body.audit)
    except LookupError as e:
        raise _bad(str(e)) from None
    except BrokerUnavailable as e:  # with a [queue]: nothing was queued
        raise HTTPException(503, str(e)) from None
    return _json(RunNowOut(run_id=started.run_id, queued=started.queued, message=started.message), 202)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


# ------------------------------------------------------------------------------------------------ OpenAPI

_OUT = (
    SitesOut,
    SiteDetailOut,
    RunsOut,
    RunDetailOut,
    FindingsOut,
    IncidentsOut,
    IncidentOut,
    RunNowOut,
    ErrorOut,
)


def _text_param(name: str, where: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": {"type": "string", "maxLength": MAX_TEXT},
    }


def _limit_param(bounds: tuple[int, int]) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "description": f"items per page (default {bounds[0]})",
        "schema": {"type": "integer", "minimum": 1, "maximum": bounds[1], "default": bounds[0]},
    }


_CURSOR = _text_param("cursor", "query", "the `next_cursor` of the previous page")
_SITE = _text_param("site", "path", "the site's name in the configuration")
_RUN = _text_param("run_id", "path", "a run id")


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _answers(model: type[BaseModel], code: str = "200", *, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    reasons = {
        "400": "a parameter is invalid",
        "401": "no session and no valid token",
        "403": "logged in, but not allowed to do this",
        "404": "no such object, or not one the caller may see",
    }
    out = {code: {"description": "OK", "content": {"application/json": {"schema": _ref(model)}}}}
    for c in ("400", "401", *extra):
        out[c] = {"description": reasons[c], "content": {"application/json": {"schema": _ref(ErrorOut)}}}
    return out


def _op(
    op_id: str, summary: str, model: type[BaseModel], params: list[dict[str, Any]], **kw: Any
) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "summary": summary,
        "parameters": params,
        "responses": _answers(model, **kw),
    }


# What a list's first item leads to (OpenAPI links: clients and Schemathesis follow them).
_LINKS = {
    "listSites": {"getSite": {"site": "$response.body#/sites/0/name"}},
    "listRuns": {
        "getRun": {"run_id": "$response.body#/runs/0/id"},
        "listFindings": {"run_id": "$response.body#/runs/0/id"},
    },
    "listIncidents": {"getIncident": {"incident_id": "$response.body#/incidents/0/id"}},
}


def _with_links(paths: dict[str, Any]) -> dict[str, Any]:
    for ops in paths.values():
        for op in ops.values():
            links = _LINKS.get(op["operationId"])
            if links:
                op["responses"]["200"]["links"] = {
                    target: {"operationId": target, "parameters": params} for target, params in links.items()
                }
    return paths


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API, its schemas generated from the response models."""
    from pydantic.json_schema import models_json_schema

    from auditor import __version__

    models: list[tuple[type[BaseModel], Any]] = [(m, "serialization") for m in _OUT]
    models.append((RunNowIn, "validation"))
    _, schemas = models_json_schema(models, ref_template="#/components/schemas/{model}")
    q = "query"
    paths = {
        "/sites": {
            "get": _op(
                "listSites",
                "Every site the caller may see, with its status now",
                SitesOut,
                [
                    _text_param("client", q, "only this client's sites"),
                    _text_param("tag", q, "only sites with this tag"),
                    {
                        "name": "sort",
                        "in": q,
                        "description": "`name`, or `broken`: broken longest first",
                        "schema": {"type": "string", "enum": ["name", "broken"], "default": "name"},
                    },
                ],
            )
        },
        "/sites/{site}": {
            "get": _op(
                "getSite",
                "A site: status, run history (newest first, `limit` runs) and incidents",
                SiteDetailOut,
                [_SITE, _limit_param(HISTORY_LIMIT)],
                extra=("404",),
            )
        },
        "/sites/{site}/runs": {
            "post": {
                "operationId": "runNow",
                "summary": "Run one of the site's audits now (admins only)",
                "parameters": [_SITE],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref(RunNowIn)}},
                },
                "responses": _answers(RunNowOut, "202", extra=("403", "404")),
            }
        },
        "/runs": {
            "get": _op(
                "listRuns",
                "Runs, newest first, one page at a time",
                RunsOut,
                [
                    _text_param("site", q, "only this site's runs"),
                    _text_param("audit", q, "only this audit's runs"),
                    _text_param("status", q, "only runs with this status"),
                    _limit_param(RUNS_LIMIT),
                    _CURSOR,
                ],
            )
        },
        "/runs/{run_id}": {
            "get": _op(
                "getRun", "A run with its checks and finding counts", RunDetailOut, [_RUN], extra=("404",)
            )
        },
        "/runs/{run_id}/findings": {
            "get": _op(
                "listFindings",
                "A run's findings in the order they were found, one page at a time",
                FindingsOut,
                [
                    _RUN,
                    _text_param("kind", q, "only findings of this kind"),
                    _text_param("severity", q, "only `error` or `warning` findings"),
                    _text_param("check", q, "only this check's findings"),
                    _limit_param(FINDINGS_LIMIT),
                    _CURSOR,
                ],
                extra=("404",),
            )
        },
        "/incidents": {
            "get": _op(
                "listIncidents",
                "Incidents, newest first, one page at a time",
                IncidentsOut,
                [
                    {
                        "name": "status",
                        "in": q,
                        "description": "only incidents in this state",
                        "schema": {"type": "string", "enum": list(INCIDENT_STATES)},
                    },
                    {
                        "name": "acknowledged",
                        "in": q,
                        "description": "only incidents acknowledged or muted now (`true`), or only others",
                        "schema": {"type": "string", "enum": ["true", "false"]},
                    },
                    _text_param("site", q, "only this site's incidents"),
                    _text_param("audit", q, "only this audit's incidents"),
                    _limit_param(INCIDENTS_LIMIT),
                    _CURSOR,
                ],
            )
        },
        "/incidents/{incident_id}": {
            "get": _op(
                "getIncident",
                "One incident",
                IncidentOut,
                [
                    {
                        "name": "incident_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                extra=("404",),
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "auditor",
            "version": __version__,
            "description": "Sites, runs, findings and incidents of an auditor installation. "
            "Authenticate with `Authorization: Bearer TOKEN` (`auditor token add`) or a dashboard session.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": _with_links(paths),
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _get(path: str, handler: Handler, name: str) -> Route:
    return Route(path, _endpoint(handler), methods=["GET"], name=name)


routes: list[BaseRoute] = [
    Route("/openapi.json", openapi, methods=["GET"], name="api_openapi"),
    _get("/sites", list_sites, "api_sites"),
    _get("/sites/{site}", get_site, "api_site"),
    Route("/sites/{site}/runs", json_errors(run_now), methods=["POST"], name="api_run_now"),
    _get("/runs", list_runs, "api_runs"),
    _get("/runs/{run_id}", get_run, "api_run"),
    _get("/runs/{run_id}/findings", get_findings, "api_findings"),
    _get("/incidents", list_incidents, "api_incidents"),
    _get("/incidents/{incident_id}", get_incident, "api_incident"),
]


def _extra() -> list[BaseRoute]:
    from auditor.web.badge import badge
    from auditor.web.metrics import metrics

    return [
        Route("/metrics", metrics, methods=["GET"], name="metrics"),
        Route("/badge/{site}.svg", badge, methods=["GET"], name="badge"),
    ]


# Mounted at the root of the app: /metrics and /badge/{site}.svg.
extra_routes: list[BaseRoute] = _extra()

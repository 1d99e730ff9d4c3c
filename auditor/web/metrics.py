"""/metrics: each site's state for Prometheus, read from the store at scrape time.

A fresh `CollectorRegistry` per scrape (nothing is kept between scrapes, so two servers over one
store agree). It takes a login or an API token (`Authorization: Bearer`, which Prometheus sends
with `authorization: {credentials_file: ...}`), and shows the sites that caller may see; with
`[web] metrics_public = true` it is readable by anyone and shows every configured site.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from auditor.config import Settings
from auditor.web import queries
from auditor.web.queries import EVERYONE, SiteRow

STATUSES = ("pass", "warn", "fail", "error", "interrupted", "unknown")


class SitesCollector(Collector):
    """The metric families of a list of overview rows."""

    def __init__(self, rows: Sequence[SiteRow]) -> None:
        self.rows = rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = GaugeMetricFamily(
            "auditor_site_status",
            "1 for the site's status now (the worst of its audits' last finished runs), 0 for the others",
            labels=["site", "client", "status"],
        )
        failing = GaugeMetricFamily(
            "auditor_site_failing", "1 when the site's status now is fail, else 0", labels=["site", "client"]
        )
        last = GaugeMetricFamily(
            "auditor_site_last_run_timestamp_seconds",
            "when the site's last finished run started (Unix time)",
            labels=["site", "client", "audit"],
        )
        duration = GaugeMetricFamily(
            "auditor_site_last_run_duration_seconds",
            "how long the site's last finished run took",
            labels=["site", "client", "audit"],
        )
        incidents = GaugeMetricFamily(
            "auditor_site_open_incidents", "open incidents of the site", labels=["site", "client"]
        )
        since = GaugeMetricFamily(
            "auditor_site_broken_since_timestamp_seconds",
            "start of the oldest run of the site's current failing streak (only while failing)",
            labels=["site", "client"],
        )
        for row in self.rows:
            client = row.meta.client or ""
            for s in STATUSES:
                status.add_metric([row.name, client, s], 1.0 if row.status == s else 0.0)
            failing.add_metric([row.name, client], 1.0 if row.status == "fail" else 0.0)
            incidents.add_metric([row.name, client], float(row.open_incidents))
            if row.last_run is not None:
                r = row.last_run
                last.add_metric([row.name, client, r.audit], r.started_at.timestamp())
                if r.duration_s is not None:
                    duration.add_metric([row.name, client, r.audit], r.duration_s)
            if row.broken_since is not None:
                since.add_metric([row.name, client], row.broken_since.timestamp())
        yield from (status, failing, last, duration, incidents, since)


def exposition(rows: Iterable[SiteRow]) -> bytes:
    """The Prometheus text exposition of `rows`, from a registry made for this scrape only."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SitesCollector(list(rows)))
    return generate_latest(registry)


def metrics_public(settings: Settings) -> bool:
    """`[web] metrics_public` (false when the section or key is absent)."""
    web = getattr(settings.model, "web", None)
    return bool(getattr(web, "metrics_public", False))


async def metrics(request: Request) -> Response:
    """GET /metrics"""
    from auditor.web.api import context, error, scope_for

    settings: Settings = request.app.state.settings
    scope = EVERYONE
    if not metrics_public(settings):
        from starlette.exceptions import HTTPException

        try:
            ctx = await context(request)
        except HTTPException as e:
            return error(e.status_code, str(e.detail), dict(e.headers) if e.headers else None)
        scope = scope_for(ctx.user, settings)
    with Session(request.app.state.store.engine) as s:
        rows = queries.overview(s, settings, scope)
    return Response(exposition(rows), media_type=CONTENT_TYPE_LATEST)

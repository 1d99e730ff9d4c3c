"""The dashboard's read layer: what the overview, a site, a run and the incidents show, for the pages
and the JSON API alike.

Every function runs a fixed number of queries whatever the number of sites, runs or findings (no
N+1): the overview is four queries for 5 sites or 500, a site page five. Each is read-only, takes a
SQLAlchemy `Session` and a `Scope` (the sites the reader may see), and returns plain dataclasses.
An object out of the reader's scope is reported exactly as one that does not exist (None), so a
viewer of one client cannot even learn that another client's run id exists.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import weakref
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    Select,
    String,
    and_,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from auditor.config import Settings, SiteConfig
from auditor.store.models import CheckRow, FindingRow, IncidentRow, RunRow

# Runs in an overview row's status strip.
STRIP = 30
# Runs a site page charts by default.
SITE_RUNS = 90
# A run in one of these has ended; its status says something about the site.
FINISHED = ("pass", "warn", "fail", "error", "interrupted")
# Worst first: a site's status is the worst of its audits' last finished runs.
_ORDER = ("fail", "error", "interrupted", "warn", "pass")
# A run in one of these breaks a failing streak ("error" and "interrupted" say nothing of the site).
_HEALTHY = ("pass", "warn")
# Above this many sites, the site filter is applied in Python rather than as an IN list (an IN list
# of 500 names doubles the overview's query time on SQLite and PostgreSQL alike).
_MAX_IN = 100
_ZERO = timedelta(0)
_FINISHED = frozenset(FINISHED)
# A strip cell's sort key: its start, then its id.
_NEWEST = itemgetter(2, 0)

SortKey = Literal["name", "broken"]
IncidentState = Literal["pending", "open", "acknowledged", "resolved"]


# The indexes of migration 0010, by the same names and columns: without them the overview of 500
# sites scans every run once per site (17 s on SQLite instead of 80 ms). A store at the newest
# revision has them; for one opened without migrating, the read layer makes them itself, once per
# process and engine, IF NOT EXISTS (a no-op where the migration made them).
DASHBOARD_INDEXES = (
    ("ix_runs_site_started_at", "runs", ("site", "started_at")),
    ("ix_runs_site_audit_started_at", "runs", ("site", "audit", "started_at")),
    ("ix_runs_site_audit_status_started_at", "runs", ("site", "audit", "status", "started_at")),
    ("ix_incidents_site_status", "incidents", ("site", "status")),
    ("ix_findings_run_id_id", "findings", ("run_id", "id")),
)
_INDEXED: weakref.WeakSet[Engine] = weakref.WeakSet()
log = logging.getLogger("auditor.web")


def ensure_indexes(engine: Engine) -> None:
    """Create the dashboard's indexes that the database lacks (once per engine; a database that
    refuses, e.g. to a read-only user, is told in the log and read without them)."""
    if engine in _INDEXED:
        return
    _INDEXED.add(engine)
    has_site = IncidentRow.__table__.c.get("site") is not None
    try:
        with engine.begin() as conn:
            for name, table, columns in DASHBOARD_INDEXES:
                if table == "incidents" and not has_site:
                    continue
                conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})")
    except SQLAlchemyError as e:
        log.warning("could not create the dashboard's indexes (%s); pages of many sites will be slow", e)


def _incident_site() -> Any:
    """An incident's site: its `site` column (migration 0008), or before that column exists, the
    site of the run that first saw it (which is what 0008 fills the column with)."""
    column = IncidentRow.__table__.c.get("site")
    if column is not None:
        return column
    return select(RunRow.site).where(RunRow.id == IncidentRow.first_seen_run).scalar_subquery()


class BadCursor(ValueError):
    """A pagination cursor that this layer did not hand out."""


@dataclass(frozen=True)
class Scope:
    """The sites a reader may see: `sites` None means every site (an unrestricted user)."""

    sites: frozenset[str] | None = None

    def allows(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    def condition(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping rows of visible sites."""
        if self.sites is None:
            return true()
        return column.in_(sorted(self.sites))  # type: ignore[no-any-return]


EVERYONE = Scope()


@dataclass(frozen=True)
class SiteMeta:
    """What the configuration says of a site: its URL, client, tags and whether it is public."""

    name: str
    base_url: str | None
    client: str | None
    tags: tuple[str, ...]
    public: bool


def site_meta(name: str, cfg: SiteConfig | None) -> SiteMeta:
    """The configuration facts of site `name` (None when it is no longer configured)."""
    if cfg is None:
        return SiteMeta(name, None, None, (), False)
    return SiteMeta(
        name,
        cfg.base_url,
        getattr(cfg, "client", None),
        tuple(getattr(cfg, "tags", ()) or ()),
        bool(getattr(cfg, "public", False)),
    )


@dataclass(frozen=True)
class RunBrief:
    """One run as lists show it."""

    id: str
    audit: str
    site: str
    status: str
    started_at: datetime
    finished_at: datetime | None

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


class StripRun(NamedTuple):
    """One cell of a status strip: a run's id, status and start."""

    id: str
    status: str
    started_at: datetime


@dataclass(frozen=True)
class SiteRow:
    """One overview line: a site's status now and its recent past."""

    meta: SiteMeta
    # The worst of its audits' last finished runs; "unknown" when none has finished yet.
    status: str
    # The newest finished run of any of its audits.
    last_run: RunBrief | None
    # Whether one of the strip's runs is still going (running, queued).
    running: bool
    open_incidents: int
    # The last STRIP runs, oldest first.
    strip: list[StripRun]
    # The start of the oldest run in the current failing streak of a failing audit (None unless fail).
    broken_since: datetime | None
    # Each audit's last finished run's status.
    audits: dict[str, str]

    @property
    def name(self) -> str:
        return self.meta.name


@dataclass(frozen=True)
class RunPoint:
    """One run in a site's history: its status, duration and findings by kind."""

    run: RunBrief
    findings: dict[str, int]

    @property
    def findings_total(self) -> int:
        return sum(self.findings.values())


@dataclass(frozen=True)
class NoteView:
    """The newest thing someone said about an incident: acknowledged, muted (until), unmuted."""

    action: str
    by: str
    at: datetime
    text: str
    until: datetime | None


@dataclass(frozen=True)
class IncidentView:
    """One incident as lists show it."""

    id: int
    site: str
    audit: str
    check: str
    fingerprint: str
    kind: str
    severity: str
    url: str
    message: str
    status: str
    first_seen_at: datetime
    last_seen_at: datetime
    first_seen_run: str
    last_seen_run: str
    resolved_at: datetime | None
    # The newest note, and whether it silences the incident now (acknowledged, or muted until later).
    note: NoteView | None = None
    acknowledged: bool = False


@dataclass(frozen=True)
class SiteDetail:
    """A site page: its overview line, its run history (newest first), its incidents."""

    row: SiteRow
    history: list[RunPoint]
    open_incidents: list[IncidentView]
    resolved_incidents: list[IncidentView]


@dataclass(frozen=True)
class CheckView:
    """One check of a run."""

    name: str
    kind: str
    status: str
    message: str | None
    duration_s: float
    artifacts: list[dict[str, str]]


@dataclass(frozen=True)
class RunDetail:
    """A run with its checks and its findings counted by kind and severity."""

    run: RunBrief
    base_url: str
    trigger: str
    stats: dict[str, Any]
    report_dir: str | None
    checks: list[CheckView]
    findings_by_kind: dict[str, int]
    findings_by_severity: dict[str, int]


@dataclass(frozen=True)
class FindingView:
    """One finding of one run."""

    id: int
    check: str
    kind: str
    severity: str
    url: str
    source: str | None
    element: str | None
    message: str
    fingerprint: str
    evidence: dict[str, Any] = field(default_factory=dict)


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------- overview


def overview(
    s: Session,
    settings: Settings,
    scope: Scope = EVERYONE,
    *,
    client: str | None = None,
    tag: str | None = None,
    sort: SortKey = "name",
) -> list[SiteRow]:
    """Every configured site the reader may see (of `client`, with `tag`), with its status now."""
    ensure_indexes(s.get_bind().engine)
    metas = [site_meta(name, cfg) for name, cfg in settings.sites.items() if scope.allows(name)]
    metas = [m for m in metas if (client is None or m.client == client) and (tag is None or tag in m.tags)]
    rows = _site_rows(s, metas)
    if sort == "broken":
        return sorted(rows, key=_broken_first)
    return rows


def overview_row(s: Session, meta: SiteMeta) -> SiteRow:
    """One site's overview line (a badge, a metric)."""
    ensure_indexes(s.get_bind().engine)
    return _site_rows(s, [meta])[0]


def _broken_first(row: SiteRow) -> tuple[int, float, str]:
    """Broken longest first, then by how bad the status is, then by name."""
    rank = _ORDER.index(row.status) if row.status in _ORDER else len(_ORDER)
    since = row.broken_since.timestamp() if row.broken_since else float("inf")
    return (rank, since, row.name)


def _site_rows(s: Session, metas: Sequence[SiteMeta]) -> list[SiteRow]:
    if not metas:
        return []
    names = [m.name for m in metas]
    wanted = set(names)
    # A few sites: filter in SQL; many: read all and filter here (no IN list of thousands).
    where = RunRow.site.in_(names) if len(names) <= _MAX_IN else true()
    # Core rows, not ORM ones: the strip is thousands of rows, and this is the overview's hot path.
    conn = s.connection()
    strips: dict[str, list[StripRun]] = defaultdict(list)
    parse = datetime.fromisoformat
    # This loop runs once per strip cell: `_aware` inlined for SQLite's stored UTC text, and for
    # times in a UTC zone as PostgreSQL gives them (its session zone is UTC as a rule).
    utc_zones: set[Any] = {UTC}
    for run_id, site, status, started in conn.execute(_strip_runs(where, conn.dialect.name)).all():
        if site in wanted:
            if type(started) is str and len(started) <= 26:
                at = parse(started + "+00:00")
            elif started.tzinfo in utc_zones:
                at = started
            elif str(started.tzinfo) in ("UTC", "Etc/UTC"):
                utc_zones.add(started.tzinfo)
                at = started
            else:
                at = _aware(started)
            strips[site].append(StripRun(run_id, status, at))
    last: dict[str, dict[str, RunBrief]] = defaultdict(dict)
    failing: dict[str, list[datetime]] = defaultdict(list)
    for r in conn.execute(_last_finished(where, conn.dialect.name)):
        if r.site in wanted:
            last[r.site][r.audit] = _brief(r)
            if r.status == "fail" and r.failing_since is not None:
                failing[r.site].append(_aware(r.failing_since))
    isite = _incident_site()
    counts: dict[str, int] = {
        site: n
        for site, n in conn.execute(
            select(isite, func.count())
            .where(isite.in_(names) if len(names) <= _MAX_IN else true(), IncidentRow.status == "open")
            .group_by(isite)
        )
    }
    out = []
    for m in metas:
        audits = last.get(m.name, {})
        status = _worst(r.status for r in audits.values())
        strip = sorted(strips.get(m.name, ()), key=_NEWEST, reverse=True)[:STRIP]
        out.append(
            SiteRow(
                meta=m,
                status=status,
                last_run=max(audits.values(), key=lambda r: (r.started_at, r.id), default=None),
                running=not {r.status for r in strip} <= _FINISHED,
                open_incidents=counts.get(m.name, 0),
                strip=strip[::-1],
                broken_since=min(failing[m.name]) if status == "fail" and failing.get(m.name) else None,
                audits={a: r.status for a, r in sorted(audits.items())},
            )
        )
    return out


def _strip_runs(where: ColumnElement[bool], dialect: str) -> Select[*tuple[Any, ...]]:
    """The newest STRIP runs of every site (a few more on ties on SQLite).

    A window function would read every run there is. PostgreSQL reads each site's newest runs
    with a LATERAL join on the (site, started_at) index. SQLite has no LATERAL: each site's cut-off
    (the start of its STRIP-th newest run) is found first by an index seek, then the runs after it.
    """
    if dialect == "postgresql":
        names = select(RunRow.site).where(where).distinct().subquery("strip_sites")
        recent = (
            # The driver's aware time as it is, not through UTCDateTime (see the loop in _site_rows).
            select(
                RunRow.id, RunRow.site, RunRow.status, type_coerce(RunRow.started_at, DateTime(timezone=True))
            )
            .where(RunRow.site == names.c.site)
            .order_by(RunRow.started_at.desc())
            .limit(STRIP)
            .lateral("recent")
        )
        return select(recent.c.id, recent.c.site, recent.c.status, recent.c.started_at).select_from(
            names.join(recent, true())
        )
    newer, oldest = aliased(RunRow), aliased(RunRow)
    sites = select(RunRow.site).where(where).distinct().cte("strip_sites").prefix_with("MATERIALIZED")
    cut = (
        select(newer.started_at)
        .where(newer.site == sites.c.site)
        .order_by(newer.started_at.desc())
        .limit(1)
        .offset(STRIP - 1)
        .scalar_subquery()
    )
    first = select(func.min(oldest.started_at)).where(oldest.site == sites.c.site).scalar_subquery()
    cuts = (
        select(sites.c.site, func.coalesce(cut, first).label("cut"))
        .cte("strip_cuts")
        .prefix_with("MATERIALIZED")
    )
    # The stored text, parsed by `_aware` (fromisoformat) at a fraction of the column type's cost.
    started = type_coerce(RunRow.started_at, String)
    return select(RunRow.id, RunRow.site, RunRow.status, started).select_from(
        cuts.join(RunRow, and_(RunRow.site == cuts.c.site, RunRow.started_at >= cuts.c.cut))
    )


def _driver_time(column: Any) -> Any:
    """`column` as the driver gives it (an aware time), not through UTCDateTime: see _site_rows."""
    return type_coerce(column, DateTime(timezone=True)).label(column.key)


def _last_finished(where: ColumnElement[bool], dialect: str = "") -> Select[*tuple[Any, ...]]:
    """The last finished run of every (site, audit), with `failing_since`: the start of the oldest
    failed run after its last healthy one (None when it never failed since). Index seeks per pair:
    a LATERAL join on PostgreSQL, correlated subqueries in materialized CTEs on SQLite."""
    last, healthy, failed = aliased(RunRow), aliased(RunRow), aliased(RunRow)
    if dialect == "postgresql":
        keys = select(RunRow.site, RunRow.audit).where(where).distinct().subquery("pairs")
        newest = (
            select(last.id, last.audit, last.site, last.status, last.started_at, last.finished_at)
            .where(last.site == keys.c.site, last.audit == keys.c.audit, last.status.in_(FINISHED))
            .order_by(last.started_at.desc())
            .limit(1)
            .lateral("newest")
        )
        # Correlated by hand: nested in `failing`, it would not find `keys` by itself.
        healthy_since = (
            select(func.max(healthy.started_at))
            .where(healthy.site == keys.c.site, healthy.audit == keys.c.audit, healthy.status.in_(_HEALTHY))
            .correlate(keys)
            .scalar_subquery()
        )
        failing = (
            select(func.min(failed.started_at))
            .where(
                failed.site == keys.c.site,
                failed.audit == keys.c.audit,
                failed.status == "fail",
                or_(healthy_since.is_(None), failed.started_at > healthy_since),
            )
            .correlate(keys)
            .scalar_subquery()
        )
        return select(*newest.c, failing.label("failing_since")).select_from(keys.join(newest, true()))
    pairs = select(RunRow.site, RunRow.audit).where(where).distinct().cte("pairs").prefix_with("MATERIALIZED")
    last_id = (
        select(last.id)
        .where(last.site == pairs.c.site, last.audit == pairs.c.audit, last.status.in_(FINISHED))
        .order_by(last.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    healthy_at = (
        select(func.max(healthy.started_at))
        .where(healthy.site == pairs.c.site, healthy.audit == pairs.c.audit, healthy.status.in_(_HEALTHY))
        .scalar_subquery()
    )
    latest = (
        select(pairs.c.site, pairs.c.audit, last_id.label("last_id"), healthy_at.label("healthy_at"))
        .cte("latest")
        .prefix_with("MATERIALIZED")
    )
    since = (
        select(func.min(failed.started_at))
        .where(
            failed.site == latest.c.site,
            failed.audit == latest.c.audit,
            failed.status == "fail",
            or_(latest.c.healthy_at.is_(None), failed.started_at > latest.c.healthy_at),
        )
        .scalar_subquery()
    )
    return (
        _run_columns()
        .add_columns(since.label("failing_since"))
        .select_from(latest.join(RunRow, RunRow.id == latest.c.last_id))
    )


def _worst(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    return next((s for s in _ORDER if s in seen), "unknown")


# ------------------------------------------------------------------------------------------------ a site


def site_detail(
    s: Session, settings: Settings, scope: Scope, name: str, *, runs: int = SITE_RUNS
) -> SiteDetail | None:
    """A site's page: its status, its last `runs` runs with findings by kind, its incidents.

    None when the reader may not see it, or it is neither configured nor recorded."""
    if not scope.allows(name):
        return None
    ensure_indexes(s.get_bind().engine)
    cfg = settings.sites.get(name)
    if cfg is None and s.scalar(select(RunRow.id).where(RunRow.site == name).limit(1)) is None:
        return None
    (row,) = _site_rows(s, [site_meta(name, cfg)])
    briefs = [
        _brief(r)
        for r in s.execute(
            _run_columns()
            .where(RunRow.site == name)
            .order_by(RunRow.started_at.desc(), RunRow.id.desc())
            .limit(max(1, runs))
        )
    ]
    kinds = _findings_by_kind(s, [b.id for b in briefs])
    history = [RunPoint(b, kinds.get(b.id, {})) for b in briefs]
    isite = _incident_site()
    incidents = _incidents(
        s,
        s.execute(
            select(IncidentRow, isite)
            .where(isite == name, IncidentRow.status.in_(("open", "pending", "resolved")))
            .order_by(IncidentRow.status, IncidentRow.first_seen_at.desc(), IncidentRow.id.desc())
            .limit(500)
        ),
    )
    return SiteDetail(
        row=row,
        history=history,
        open_incidents=[i for i in incidents if i.status != "resolved"],
        resolved_incidents=[i for i in incidents if i.status == "resolved"],
    )


def _findings_by_kind(s: Session, run_ids: Collection[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    if not run_ids:
        return out
    q = (
        select(FindingRow.run_id, FindingRow.kind, func.count())
        .where(FindingRow.run_id.in_(list(run_ids)))
        .group_by(FindingRow.run_id, FindingRow.kind)
    )
    for run_id, kind, n in s.execute(q):
        out[run_id][kind] = n
    return out


# ------------------------------------------------------------------------------------------------ runs


def list_runs(
    s: Session,
    scope: Scope,
    *,
    site: str | None = None,
    audit: str | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[RunBrief]:
    """Runs newest first, filtered, one page of `limit` after `cursor` (keyset pagination)."""
    q = _run_columns().where(scope.condition(RunRow.site))
    if site is not None:
        q = q.where(RunRow.site == site)
    if audit is not None:
        q = q.where(RunRow.audit == audit)
    if status is not None:
        q = q.where(RunRow.status == status)
    if cursor is not None:
        at, last_id = _decode_run_cursor(cursor)
        q = q.where(or_(RunRow.started_at < at, and_(RunRow.started_at == at, RunRow.id < last_id)))
    q = q.order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit + 1)
    items = [_brief(r) for r in s.execute(q)]
    more = len(items) > limit
    items = items[:limit]
    nxt = _encode({"t": items[-1].started_at.isoformat(), "id": items[-1].id}) if more and items else None
    return Page(items, nxt)


def run_detail(s: Session, scope: Scope, run_id: str) -> RunDetail | None:
    """A run with its checks and finding counts, or None (unknown, or out of the reader's scope)."""
    row = s.get(RunRow, run_id)
    if row is None or not scope.allows(row.site):
        return None
    checks = [
        CheckView(c.name, c.kind, c.status, c.message, c.duration_s, list(c.artifacts or []))
        for c in s.scalars(select(CheckRow).where(CheckRow.run_id == run_id).order_by(CheckRow.id))
    ]
    by_kind: dict[str, int] = defaultdict(int)
    by_severity: dict[str, int] = defaultdict(int)
    q = (
        select(FindingRow.kind, FindingRow.severity, func.count())
        .where(FindingRow.run_id == run_id)
        .group_by(FindingRow.kind, FindingRow.severity)
    )
    for kind, severity, n in s.execute(q):
        by_kind[kind] += n
        by_severity[severity] += n
    return RunDetail(
        run=RunBrief(row.id, row.audit, row.site, row.status, row.started_at, row.finished_at),
        base_url=row.base_url,
        trigger=row.trigger,
        stats=dict(row.stats or {}),
        report_dir=row.report_dir,
        checks=checks,
        findings_by_kind=dict(sorted(by_kind.items())),
        findings_by_severity=dict(sorted(by_severity.items())),
    )


def run_findings(
    s: Session,
    scope: Scope,
    run_id: str,
    *,
    kind: str | None = None,
    severity: str | None = None,
    check: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[FindingView] | None:
    """One page of a run's findings in the order they were found, or None for an unseen run."""
    site = s.scalar(select(RunRow.site).where(RunRow.id == run_id))
    if site is None or not scope.allows(site):
        return None
    q = select(FindingRow).where(FindingRow.run_id == run_id)
    if kind is not None:
        q = q.where(FindingRow.kind == kind)
    if severity is not None:
        q = q.where(FindingRow.severity == severity)
    if check is not None:
        q = q.where(FindingRow.check == check)
    if cursor is not None:
        q = q.where(FindingRow.id > _decode_id_cursor(cursor))
    rows = list(s.scalars(q.order_by(FindingRow.id).limit(limit + 1)))
    items = [
        FindingView(
            f.id,
            f.check,
            f.kind,
            f.severity,
            f.url,
            f.source,
            f.element,
            f.message,
            f.fingerprint,
            f.evidence or {},
        )
        for f in rows[:limit]
    ]
    nxt = _encode({"id": items[-1].id}) if len(rows) > limit and items else None
    return Page(items, nxt)


# ------------------------------------------------------------------------------------------- incidents


def list_incidents(
    s: Session,
    scope: Scope,
    *,
    status: str | None = None,
    acknowledged: bool | None = None,
    site: str | None = None,
    audit: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    now: datetime | None = None,
) -> Page[IncidentView]:
    """Incidents newest first (by id), filtered, one page after `cursor`. `acknowledged`: only those
    whose newest note silences them now (True), or only those it does not (False)."""
    isite = _incident_site()
    q = select(IncidentRow, isite).where(scope.condition(isite))
    if status is not None:
        q = q.where(IncidentRow.status == status)
    if acknowledged is not None:
        silenced = _silenced(now or datetime.now(UTC))
        q = q.where(silenced if acknowledged else ~silenced)
    if site is not None:
        q = q.where(isite == site)
    if audit is not None:
        q = q.where(IncidentRow.audit == audit)
    if cursor is not None:
        q = q.where(IncidentRow.id < _decode_id_cursor(cursor))
    rows = list(s.execute(q.order_by(IncidentRow.id.desc()).limit(limit + 1)))
    items = _incidents(s, rows[:limit])
    nxt = _encode({"id": items[-1].id}) if len(rows) > limit and items else None
    return Page(items, nxt)


def incident(s: Session, scope: Scope, incident_id: int) -> IncidentView | None:
    """One incident, or None (unknown, or out of the reader's scope)."""
    found = s.execute(select(IncidentRow, _incident_site()).where(IncidentRow.id == incident_id)).first()
    if found is None or not scope.allows(found[1] or ""):
        return None
    return _incidents(s, [found])[0]


def _silenced(now: datetime) -> ColumnElement[bool]:
    """Whether an incident's newest note acknowledges it, or mutes it past `now` (as the alert
    policy reads it: `auditor.store.web_models.is_silenced`)."""
    from auditor.store.web_models import IncidentNoteRow as Note

    def newest(column: Any) -> Any:
        return (
            select(column)
            .where(Note.incident_id == IncidentRow.id)
            .order_by(Note.at.desc(), Note.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    # No note at all: '' rather than NULL, so that NOT (...) holds for it too.
    action, until = func.coalesce(newest(Note.action), ""), newest(Note.until)
    return or_(action == "ack", and_(action == "mute", or_(until.is_(None), until > now)))


def _incidents(
    s: Session, rows: Iterable[tuple[IncidentRow, str | None]], now: datetime | None = None
) -> list[IncidentView]:
    """The views of (incident, site) `rows`, with their newest notes (one query for all of them)."""
    from auditor.store.web_models import is_silenced, latest_notes

    pairs = list(rows)
    notes = latest_notes(s, [r.id for r, _ in pairs]) if pairs else {}
    at = now or datetime.now(UTC)
    out = []
    for r, site in pairs:
        n = notes.get(r.id)
        view = _incident(r, site or "")
        if n is not None:
            note = NoteView(n.action, n.by_user, n.at, n.note, n.until)
            view = replace(view, note=note, acknowledged=r.status != "resolved" and is_silenced(n, at))
        out.append(view)
    return out


# ----------------------------------------------------------------------------------------------- helpers


def _run_columns() -> Select[*tuple[Any, ...]]:
    return select(RunRow.id, RunRow.audit, RunRow.site, RunRow.status, RunRow.started_at, RunRow.finished_at)


def _brief(r: Any) -> RunBrief:
    return RunBrief(
        r.id,
        r.audit,
        r.site,
        r.status,
        _aware(r.started_at),
        _aware(r.finished_at) if r.finished_at else None,
    )


def _incident(r: IncidentRow, site: str) -> IncidentView:
    return IncidentView(
        id=r.id,
        site=site,
        audit=r.audit,
        check=r.check,
        fingerprint=r.fingerprint,
        kind=r.kind,
        severity=r.severity,
        url=r.url,
        message=r.message,
        status=r.status,
        first_seen_at=r.first_seen_at,
        last_seen_at=r.last_seen_at,
        first_seen_run=r.first_seen_run,
        last_seen_run=r.last_seen_run,
        resolved_at=r.resolved_at,
    )


def _aware(d: datetime | str) -> datetime:
    """An aware UTC time from what a query gave: SQLite's stored text ("2026-11-29 03:02:27.000000",
    UTC) for columns read raw or through an aggregate, or a datetime (naive meaning UTC)."""
    if isinstance(d, str):
        return datetime.fromisoformat(d + "+00:00" if len(d) <= 26 else d)
    if d.tzinfo is None:
        return d.replace(tzinfo=UTC)
    return d if d.utcoffset() == _ZERO else d.astimezone(UTC)


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise BadCursor(f"not a cursor this API gave: {cursor!r}") from e
    if not isinstance(data, dict):
        raise BadCursor(f"not a cursor this API gave: {cursor!r}")
    return data


def _decode_run_cursor(cursor: str) -> tuple[datetime, str]:
    data = _decode(cursor)
    try:
        at = datetime.fromisoformat(data["t"])
        run_id = data["id"]
    except (KeyError, TypeError, ValueError) as e:
        raise BadCursor(f"not a runs cursor: {cursor!r}") from e
    if not isinstance(run_id, str) or at.tzinfo is None:
        raise BadCursor(f"not a runs cursor: {cursor!r}")
    return at, run_id


def _decode_id_cursor(cursor: str) -> int:
    value = _decode(cursor).get("id")
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**62) < value < 2**62:
        raise BadCursor(f"not a cursor of this list: {cursor!r}")
    return value

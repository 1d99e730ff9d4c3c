"""Server time of the dashboard with an agency's volume: 500 sites x 90 nightly runs.

    .venv/bin/python bench/dashboard/run.py                    # SQLite, and PostgreSQL if reachable
    .venv/bin/python bench/dashboard/run.py --backends sqlite --repeat 5

For each backend: generate the store (bench/dashboard/generate.py; SQLite in a temporary file,
PostgreSQL in a schema of its own in the database `test`, dropped at the end), show the query plans
of the read layer (which index each uses), then time the overview page, a site page and their API
twins through the real app (`create_app`, called in-process over httpx's ASGI transport, so the
time is the server's: routing, auth, queries, rendering). Prints the median and the worst of
`--repeat` calls, the CPU time, the targets (overview < 300 ms, site page < 200 ms) met or not,
and the load average at start and end (2 cores shared: a busy machine slows every figure).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from auditor.store import Store
from auditor.web import queries

PG_URL = os.environ.get("AUDITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGETS_MS = {"overview": 300.0, "site": 200.0}
SITE = generate.site_name(1)


@contextmanager
def backend(kind: str, folder: Path) -> Iterator[str]:
    """A URL of an empty store: a SQLite file, or a PostgreSQL schema of its own (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'dashboard.db'}"
        return
    if "://" in kind:  # --url: a store generated before
        yield kind
        return
    schema = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def explain(store: Store) -> list[str]:
    """The query plans of the overview and site-page queries, one line per step that reads a table."""
    from sqlalchemy import true

    statements = {
        "strip": queries._strip_runs(true(), store.engine.dialect.name),
        "last runs": queries._last_finished(true(), store.engine.dialect.name),
        "site runs": queries._run_columns()
        .where(queries.RunRow.site == SITE)
        .order_by(queries.RunRow.started_at.desc())
        .limit(90),
    }
    lines = []
    with store.engine.connect() as conn:
        dialect = conn.dialect
        for name, stmt in statements.items():
            sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
            plan = [" ".join(str(x) for x in row) for row in conn.exec_driver_sql(prefix + sql)]
            steps = [p for p in plan if any(w in p for w in ("SCAN", "SEARCH", "Scan", "Index"))]
            lines.append(f"  {name}: " + "; ".join(s.strip() for s in steps))
    return lines


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """Median and worst wall time, and median CPU time, in ms, after one warm-up call."""
    call()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return statistics.median(walls), max(walls), statistics.median(cpus)


def read_layer(store: Store, repeat: int) -> dict[str, tuple[float, float, float]]:
    config = generate.settings_for(generate_args.sites)

    def overview() -> None:
        with Session(store.engine) as s:
            assert len(queries.overview(s, config, sort="broken")) == generate_args.sites

    def site() -> None:
        with Session(store.engine) as s:
            assert queries.site_detail(s, config, queries.EVERYONE, SITE) is not None

    return {"overview (queries)": timed(overview, repeat), "site (queries)": timed(site, repeat)}


async def atimed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, float]:
    """`timed` for a coroutine function."""
    await call()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        await call()
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return statistics.median(walls), max(walls), statistics.median(cpus)


def through_app(url: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Time the pages and API routes through `create_app`, signed in as an admin."""
    import httpx

    from auditor.web.app import create_app

    config = generate.settings_for(generate_args.sites)
    app = create_app(config, database_url=url)
    headers = admin_headers(url)
    out: dict[str, tuple[float, float, float]] = {}

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
        ):
            for label, path in (
                ("overview", "/"),
                ("site", f"/sites/{SITE}"),
                ("overview (API)", "/api/v1/sites"),
                ("site (API)", f"/api/v1/sites/{SITE}"),
            ):

                async def get(path: str = path) -> None:
                    r = await client.get(path, headers=headers)
                    if r.status_code != 200:
                        raise SystemExit(f"GET {path} answered {r.status_code}: {r.text[:300]}")

                out[label] = await atimed(get, repeat)

    asyncio.run(main())
    return out


def admin_headers(url: str) -> dict[str, str]:
    """An Authorization header with a new admin's API token in the store at `url`."""
    from auditor.web import auth

    store = Store.open(url)
    try:
        name = f"bench-{uuid.uuid4().hex[:6]}"
        auth.add_user(store.engine, name, uuid.uuid4().hex, "admin", None)
        token = auth.add_token(store.engine, name, name)
    finally:
        store.close()
    return {"Authorization": f"Bearer {token}"}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


generate_args = argparse.Namespace(sites=500, runs=90)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--sites", type=int, default=500)
    p.add_argument("--runs", type=int, default=90)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--url", help="time an already generated store at this URL instead (kept as it is)")
    args = p.parse_args(argv)
    generate_args.sites, generate_args.runs = args.sites, args.runs
    print(f"load average at start: {load()} ({os.cpu_count()} cores)")
    table: list[tuple[str, str, tuple[float, float, float]]] = []
    for kind in [args.url] if args.url else args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder, backend(kind, Path(folder)) as url:
            label = make_url(url).get_backend_name()
            if not args.url:
                t0 = time.perf_counter()
                try:
                    c = generate.generate(url, args.sites, args.runs)
                except Exception as e:  # a backend that is not there is reported, not fatal
                    print(f"{kind}: cannot generate the store ({type(e).__name__}: {e}); skipped")
                    continue
                print(
                    f"{kind}: {c.runs} runs, {c.checks} checks, {c.findings} findings, "
                    f"{c.incidents} incidents generated in {time.perf_counter() - t0:.1f} s"
                )
            store = Store.open(url)
            try:
                print("\n".join(explain(store)))
                for what, figures in read_layer(store, args.repeat).items():
                    table.append((label, what, figures))
            finally:
                store.close()
            try:
                for what, figures in through_app(url, args.repeat).items():
                    table.append((label, what, figures))
            except Exception as e:  # e.g. a store without the dashboard's tables: say so, keep the rest
                print(f"{label}: could not time the app ({type(e).__name__}: {e}); timed the read layer only")
    print()
    print("| backend | what | median ms | worst ms | CPU ms | target |")
    print("|---|---|---:|---:|---:|---|")
    for kind, label, (median, worst, cpu) in table:
        target = TARGETS_MS.get(label)
        verdict = "" if target is None else f"< {target:.0f} ms {'met' if median < target else 'MISSED'}"
        print(f"| {kind} | {label} | {median:.1f} | {worst:.1f} | {cpu:.1f} | {verdict} |")
    print(f"\nload average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

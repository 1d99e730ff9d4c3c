"""Fill a store with an agency's history: N sites x M nightly runs, with checks, findings and incidents.

    .venv/bin/python bench/dashboard/generate.py sqlite:///dash.db --sites 500 --runs 90

The data is made with a fixed seed, so two databases generated alike hold the same rows. Most runs
pass; about one site in six is failing now (a streak of a few nights), others failed for a while and
recovered; some runs warn or error. Failing runs have 1-6 findings, and each streak one incident
(open while the streak lasts, resolved after). `settings_for(n)` gives the matching configuration
(sites with clients, tags and public flags) for the dashboard to read.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from auditor.config import Settings, SiteConfig, from_dict
from auditor.store import Store
from auditor.store.models import CheckRow, FindingRow, IncidentRow, RunRow

START = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)
CHECKS = (("links", "crawl"), ("checkout", "scenario"), ("email", "email"))
KINDS = ("broken_link", "broken_image", "checkout_failed", "email_missing", "slow_page")
CLIENTS = 10
_BATCH = 5000


def site_name(i: int) -> str:
    return f"shop-{i:03d}"


def site_entry(i: int) -> dict[str, Any]:
    """The [sites.shop-NNN] table of site `i`."""
    entry: dict[str, Any] = {"base_url": f"https://{site_name(i)}.example"}
    fields = SiteConfig.model_fields
    if "client" in fields:
        entry["client"] = f"client-{i % CLIENTS}"
    if "tags" in fields:
        entry["tags"] = ["woocommerce" if i % 2 else "shopify", "eu" if i % 3 else "us"]
    if "public" in fields:
        entry["public"] = i % 5 == 0
    return entry


def settings_for(sites: int) -> Settings:
    """A configuration with `sites` generated sites (no audits: the dashboard only reads)."""
    return from_dict(
        {"database_url": "sqlite://", "sites": {site_name(i): site_entry(i) for i in range(sites)}}
    )


@dataclass
class Counts:
    runs: int = 0
    checks: int = 0
    findings: int = 0
    incidents: int = 0


def _site_plan(rng: random.Random, runs: int) -> list[str]:
    """The status of each of a site's runs, oldest first."""
    plan = [rng.choices(("pass", "warn", "error"), (90, 7, 3))[0] for _ in range(runs)]
    # An old outage that was fixed, and for some sites one still going on.
    if runs > 20 and rng.random() < 0.5:
        start = rng.randrange(0, runs - 15)
        for k in range(start, start + rng.randrange(2, 10)):
            plan[k] = "fail"
    if rng.random() < 1 / 6:
        for k in range(max(0, runs - rng.randrange(1, 8)), runs):
            plan[k] = "fail"
    return plan


def rows(sites: int, runs: int, seed: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for every generated row, runs before their checks and findings."""
    rng = random.Random(seed)
    incident_id = 0
    finding_id = 0
    for i in range(sites):
        site = site_name(i)
        plan = _site_plan(rng, runs)
        streak: dict[str, Any] | None = None
        for n, status in enumerate(plan):
            started = START + timedelta(days=n, seconds=i * 7)
            finished = started + timedelta(seconds=rng.uniform(40, 600))
            run_id = f"{started:%Y%m%dT%H%M%S}-{site}"
            yield (
                "runs",
                {
                    "id": run_id,
                    "audit": "nightly",
                    "site": site,
                    "base_url": f"https://{site}.example",
                    "trigger": "schedule",
                    "status": status,
                    "started_at": started,
                    "finished_at": finished,
                    "pid": None,
                    "hostname": "bench",
                    "process_start": None,
                    "report_dir": None,
                    "stats": {"pages": rng.randrange(50, 2000)},
                },
            )
            for name, kind in CHECKS:
                check_status = "fail" if status == "fail" and name == "links" else status
                yield (
                    "check_results",
                    {
                        "run_id": run_id,
                        "name": name,
                        "kind": kind,
                        "status": check_status if check_status != "warn" or name == "links" else "pass",
                        "message": None,
                        "started_at": started,
                        "finished_at": finished,
                        "duration_s": (finished - started).total_seconds() / 3,
                        "stats": {},
                        "outputs": {},
                        "artifacts": [],
                    },
                )
            found = (
                rng.randrange(1, 7) if status == "fail" else rng.randrange(1, 3) if status == "warn" else 0
            )
            for k in range(found):
                finding_id += 1
                kind = KINDS[(i + k) % len(KINDS)] if status == "fail" else "slow_page"
                yield (
                    "findings",
                    {
                        "id": finding_id,
                        "run_id": run_id,
                        "check": "links",
                        "kind": kind,
                        "severity": "error" if status == "fail" else "warning",
                        "url": f"/products/{k}",
                        "source": "/",
                        "sources": ["/"],
                        "element": "a",
                        "message": f"{kind} on /products/{k}",
                        "evidence": {"status": 404},
                        "fingerprint": f"{site}-{kind}-{k}",
                    },
                )
            if status == "fail":
                if streak is None:
                    incident_id += 1
                    streak = _incident(incident_id, site, started, run_id)
                streak["last_seen_at"], streak["last_seen_run"] = started, run_id
                streak["consecutive_failures"] += 1
            elif status == "pass" and streak is not None:
                streak.update(status="resolved", resolved_at=started, consecutive_passes=1)
                yield "incidents", streak
                streak = None
        if streak is not None:
            yield "incidents", streak


def _incident(incident_id: int, site: str, at: datetime, run_id: str) -> dict[str, Any]:
    row = {
        "id": incident_id,
        "audit": "nightly",
        "check": "links",
        "fingerprint": f"{site}-outage",
        "kind": "broken_link",
        "severity": "error",
        "url": "/products/0",
        "message": "404 Not Found",
        "step": None,
        "status": "open",
        "first_seen_at": at,
        "last_seen_at": at,
        "first_seen_run": run_id,
        "last_seen_run": run_id,
        "consecutive_failures": 0,
        "consecutive_passes": 0,
        "opened_at": at,
        "notified_at": at,
        "last_reminded_at": None,
        "resolved_at": None,
        "resolved_notified_at": None,
    }
    if "site" in IncidentRow.__table__.c:
        row["site"] = site
    return row


_TABLES = {"runs": RunRow, "check_results": CheckRow, "findings": FindingRow, "incidents": IncidentRow}
_COUNTED = {"runs": "runs", "check_results": "checks", "findings": "findings", "incidents": "incidents"}


def generate(url: str, sites: int = 500, runs: int = 90, seed: int = 0) -> Counts:
    """Create (or migrate) the store at `url` and fill it; returns how many rows of each were made."""
    store = Store.open(url)
    counts = Counts()
    pending: dict[str, list[dict[str, Any]]] = {t: [] for t in _TABLES}
    try:
        with store.engine.begin() as conn:

            def flush(table: str) -> None:
                if pending[table]:
                    conn.execute(insert(_TABLES[table]), pending[table])
                    pending[table] = []

            for table, row in rows(sites, runs, seed):
                pending[table].append(row)
                setattr(counts, _COUNTED[table], getattr(counts, _COUNTED[table]) + 1)
                if len(pending[table]) >= _BATCH:
                    # Checks and findings point at runs: write the runs first.
                    flush("runs")
                    flush(table)
            for table in _TABLES:
                flush(table)
            if conn.dialect.name == "postgresql":
                for table in ("findings", "incidents", "check_results"):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                conn.exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
    finally:
        store.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url", help="database URL, e.g. sqlite:///dash.db")
    p.add_argument("--sites", type=int, default=500)
    p.add_argument("--runs", type=int, default=90)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.url.startswith("sqlite:///") and Path(args.url.removeprefix("sqlite:///")).exists():
        print(f"{args.url} exists already: generate into a new file", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    c = generate(args.url, args.sites, args.runs, args.seed)
    print(
        f"{c.runs} runs, {c.checks} checks, {c.findings} findings, {c.incidents} incidents "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

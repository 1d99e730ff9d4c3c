"""Shared by the API, metrics, badge and query tests: databases to fill, and the bench's generator."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from auditor.config import Settings, load
from auditor.results import CheckResult, Finding, RunResult, RunStatus, Severity, Status
from auditor.store import Store

PG_URL = os.environ.get("AUDITOR_TEST_POSTGRES_URL")
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `folder`, or a fresh PostgreSQL database
    dropped afterwards (skips without AUDITOR_TEST_POSTGRES_URL)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'web-{uuid.uuid4().hex[:8]}.db'}"
        return
    if not PG_URL:
        pytest.skip("AUDITOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    name = f"auditor_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # any failure to reach it means: no PostgreSQL here
        admin.dispose()
        pytest.skip(f"PostgreSQL at AUDITOR_TEST_POSTGRES_URL is unreachable: {e}")
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def generator() -> ModuleType:
    """bench/dashboard/generate.py, the volume generator, as a module."""
    path = ROOT / "bench" / "dashboard" / "generate.py"
    spec = importlib.util.spec_from_file_location("bench_dashboard_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------- an installation to read from

DAY0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
PASSWORD = "correct horse battery 9"
CONFIG = """
database_url = "{url}"

[sites.acme-shop]
base_url = "https://shop.acme.example"
client = "acme"
tags = ["woocommerce"]
public = true

[sites.acme-outlet]
base_url = "https://outlet.acme.example"
client = "acme"
tags = ["shopify"]

[sites.bolt-shop]
base_url = "https://bolt.example"
client = "bolt"
tags = ["woocommerce"]

[checks.links]
kind = "crawl"

[audits.nightly-acme]
site = "acme-shop"
checks = ["links"]

[audits.nightly-bolt]
site = "bolt-shop"
checks = ["links"]
"""


@dataclass
class Installation:
    """A config file, a store with runs of three sites of two clients, and users with tokens:
    `admin` (admin), `acme` (viewer of client acme), `bolt` (viewer of client bolt)."""

    folder: Path
    config: Path
    url: str
    settings: Settings
    # Whether sites have a client, tags and public (issue 14); the tests of those skip without.
    clients: bool = True
    tokens: dict[str, str] = field(default_factory=dict)

    def needs_clients(self) -> None:
        if not self.clients:
            pytest.skip("sites have no client, tags and public keys yet (issue 14's many-sites config)")

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def record(store: Store, site: str, audit: str, n: int, status: str, findings: int = 0) -> str:
    """Record day `n`'s run of `audit` on `site` through the store, as the runner does."""
    started = DAY0 + timedelta(days=n)
    run = RunResult(
        id=f"{site}-{n:02d}",
        audit=audit,
        site=site,
        base_url="https://x.example",
        trigger="schedule",
        started_at=started,
    )
    store.start_run(run)
    check = CheckResult(name="links", kind="crawl", status=Status.PASS)
    check.findings = [
        Finding(kind="broken_link", severity=Severity.ERROR, url=f"/p/{k}", message="404 Not Found").finalize(
            "links", "https://x.example"
        )
        for k in range(findings)
    ]
    store.record_findings(run.id, check.findings)
    store.finish_check(run.id, check)
    run.status = RunStatus(status)
    run.finished_at = started + timedelta(minutes=4)
    store.finish_run(run)
    return run.id


def open_incident(store: Store, site: str, audit: str, run_id: str, at: datetime) -> None:
    from auditor.store.models import IncidentRow

    with Session(store.engine) as s, s.begin():
        # Before migration 0008 an incident's site is that of the run that first saw it.
        where = {"site": site} if "site" in IncidentRow.__table__.c else {}
        s.add(
            IncidentRow(
                **where,
                audit=audit,
                check="links",
                fingerprint=f"{site}-fp",
                kind="broken_link",
                severity="error",
                url="/p/0",
                message="404 Not Found",
                step=None,
                status="open",
                first_seen_at=at,
                last_seen_at=at,
                first_seen_run=run_id,
                last_seen_run=run_id,
                consecutive_failures=1,
                consecutive_passes=0,
                opened_at=at,
            )
        )


def install(folder: Path, url: str) -> Installation:
    from auditor.config import SiteConfig

    text = CONFIG.format(url=url)
    clients = {"client", "tags", "public"} <= set(SiteConfig.model_fields)
    if not clients:  # before issue 14's many-sites config: the same sites, no client of their own
        text = re.sub(r"^(client|tags|public) = .*\n", "", text, flags=re.MULTILINE)
    config = folder / "auditor.toml"
    config.write_text(text, encoding="utf-8")
    inst = Installation(folder, config, url, load(config), clients=clients)
    # Users and tokens are added in-process (`auditor user add` and `auditor token add` as commands
    # are tested in tests/web/test_auth.py): six CLI processes per installation cost seconds each.
    from auditor.web import auth

    store = Store.open(url)
    try:
        for n, status in enumerate(["pass", "pass", "fail"]):
            run_id = record(
                store, "acme-shop", "nightly-acme", n, status, findings=3 if status == "fail" else 0
            )
        open_incident(store, "acme-shop", "nightly-acme", run_id, DAY0 + timedelta(days=2))
        record(store, "acme-outlet", "nightly-acme", 0, "warn")
        for n, status in enumerate(["fail", "fail", "pass", "fail"]):
            run_id = record(
                store, "bolt-shop", "nightly-bolt", n, status, findings=1 if status == "fail" else 0
            )
        open_incident(store, "bolt-shop", "nightly-bolt", run_id, DAY0 + timedelta(days=3))
        for user, role, client in (
            ("admin", "admin", None),
            ("acme", "viewer", "acme"),
            ("bolt", "viewer", "bolt"),
        ):
            auth.add_user(store.engine, user, "correct horse 9", role, client)
            inst.tokens[user] = auth.add_token(store.engine, f"{user}-token", user)
    finally:
        store.close()
    return inst

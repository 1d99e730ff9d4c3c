"""No secret in anything auditor keeps: a real purchase in Chromium against the demo shop, failing
after the card was typed, with a secret header and cookie configured and debug logging on. Every
artifact (each member of the trace zip), the report files, the SQLite database and the logs are
searched for the password, the card number and the header and cookie values, in every encoding."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import logging
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from auditor import config
from auditor.demo import DemoShop, parse_faults
from auditor.results import RunResult, Status
from auditor.runner import RunOptions, run_audit
from auditor.scrub import REDACTED
from auditor.store import Store

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVIDENCE_SCENARIOS = Path(__file__).parent / "evidence"
HEADER_SECRET = "hdr-Secret-7f3a9c"
COOKIE_SECRET = "ck-Secret-19be42"
CARD = "4242 4242 4242 4242"


def encodings(secret: str) -> set[str]:
    """How a secret can be written: raw, form- and %-encoded, JSON- and HTML-escaped, base64."""
    return {
        secret,
        quote_plus(secret),
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        base64.b64encode(secret.encode()).decode(),
    }


def card_forms() -> set[str]:
    digits = CARD.replace(" ", "")
    return {*encodings(CARD), digits, CARD.replace(" ", "-")}


def hits(data: bytes, secrets: dict[str, set[str]]) -> list[str]:
    """Which secrets (by name) `data` holds in any of their forms."""
    return sorted(name for name, forms in secrets.items() if any(f.encode() in data for f in forms))


def everything_written(run: RunResult, db: Path) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of every file in the report folder, every member of every zip, the database."""
    assert run.report_dir is not None
    for path in sorted(run.report_dir.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path), data
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    yield f"{path}!{member}", z.read(member)
    for path in db.parent.glob(db.name + "*"):
        yield str(path), path.read_bytes()
    with sqlite3.connect(db) as conn:
        for (table,) in conn.execute("select name from sqlite_master where type = 'table'"):
            rows = conn.execute(f'select * from "{table}"').fetchall()
            yield f"table {table}", repr(rows).encode()


@pytest.fixture
def noted_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "typed-password"
    monkeypatch.setenv("AUDITOR_TEST_PASSWORD_FILE", str(path))
    return path


async def audit(
    tmp_path: Path, shop: DemoShop, checks: dict[str, Any], run: list[str]
) -> tuple[RunResult, Path]:
    db = tmp_path / "auditor.db"
    settings = config.from_dict(
        {
            "database_url": f"sqlite:///{db}",
            "report_dir": str(tmp_path / "reports"),
            "sites": {
                "demo": {
                    "base_url": shop.base_url,
                    "allow_orders": True,
                    "headers": {"X-Staging-Token": "${STAGING_TOKEN}"},
                    "cookies": {"staging_pass": COOKIE_SECRET},
                }
            },
            "checks": checks,
            "audits": {"a": {"checks": run}},
        },
        environ={"STAGING_TOKEN": HEADER_SECRET},
    )
    store = Store.open(settings.database_url())
    try:
        result = await run_audit(settings, "a", RunOptions(recorder=store))
    finally:
        store.close()
    return result, db


CHECKOUT = {"kind": "scenario", "scenario": "noted-checkout", "paths": [str(EVIDENCE_SCENARIOS)]}


async def test_a_purchase_that_fails_after_the_card_was_typed_leaves_no_secret_anywhere(
    tmp_path: Path, noted_password: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with DemoShop(faults=parse_faults(["checkout-error"], environ={})) as shop:
        run, db = await audit(tmp_path, shop, {"checkout": CHECKOUT}, ["checkout"])
    (checkout,) = run.checks
    assert checkout.derived_status() == Status.FAIL
    assert checkout.outputs["failed_step"] == "Pay with the test card", checkout.message
    assert {a.name for a in checkout.artifacts} >= {
        "screenshot.png",
        "page.html",
        "console.json",
        "requests.json",
        "trace.zip",
    }
    password = await asyncio.to_thread(noted_password.read_text, encoding="utf-8")
    secrets = {
        "password": encodings(password),
        "card": card_forms(),
        "header": encodings(HEADER_SECRET),
        "cookie": encodings(COOKIE_SECRET),
    }
    found = {where: hits(data, secrets) for where, data in everything_written(run, db)}
    assert any("trace.network" in where for where in found), "the trace has no network log to search"
    assert {where: h for where, h in found.items() if h} == {}
    logs = "\n".join(
        [caplog.text, *(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)]
    ).encode()
    assert hits(logs, secrets) == []

    # The secrets were there and are masked: the card posted to /pay, the password in the outputs.
    assert run.report_dir is not None
    with zipfile.ZipFile(run.report_dir / "checkout" / "trace.zip") as z:
        trace = b"".join(z.read(m) for m in z.namelist())
    assert b"card=" + REDACTED.encode() in trace or b"card=****+****+****+4242" in trace
    assert REDACTED.encode() in trace
    assert checkout.outputs["customer"]["password"] == REDACTED


async def test_the_login_after_the_purchase_gets_the_password_the_database_never_does(
    tmp_path: Path, noted_password: Path
) -> None:
    with DemoShop(faults=parse_faults([], environ={})) as shop:
        run, db = await audit(
            tmp_path,
            shop,
            {"checkout": CHECKOUT, "login": {"kind": "login", "needs": ["checkout"]}},
            ["login"],
        )
    assert [(c.name, c.derived_status(), c.message) for c in run.checks] == [
        ("checkout", Status.PASS, None),
        ("login", Status.PASS, None),
    ]
    password = await asyncio.to_thread(noted_password.read_text, encoding="utf-8")
    found = {
        where: hits(data, {"password": encodings(password)}) for where, data in everything_written(run, db)
    }
    assert {where: h for where, h in found.items() if h} == {}

"""One problem, one incident, night after night: what changes per run stays out of the fingerprint.

Runs are recorded in a real store and applied by the real alert policy, with messages sent to a
real loopback webhook, as `auditor run` does after each run.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from auditor.alerts import AlertsConfig, process_run
from auditor.results import CheckResult, Finding, RunResult, Severity
from auditor.store import Store
from tests.alerts.receivers import Webhook
from tests.alerts.runs import BASE, a_run, recorded


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'auditor.db'}")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    try:
        yield hook
    finally:
        hook.close()


def signed(rnd: random.Random, order: int) -> str:
    """A signed download token as Django-style shops issue one per order: payload:timestamp:signature."""
    payload = base64.urlsafe_b64encode(json.dumps({"order": order}).encode()).decode().rstrip("=")
    signature = base64.urlsafe_b64encode(rnd.randbytes(32)).decode().rstrip("=")
    return f"{payload}:1x{rnd.randint(1000, 9999)}Z:{signature}"


def dead_download(path: str) -> Finding:
    url = f"{BASE}{path}"
    return Finding("delivery_link_broken", Severity.ERROR, url, f"The download {url} answers 404.")


def night(n: int, *findings: Finding, order: str) -> RunResult:
    """Run `n`: the purchase's outputs carry its order number; findings finalized as the runner does."""
    purchase = CheckResult(
        outputs={"order_number": order, "customer": {"email": f"audit+run-{n:03d}@x.test"}}
    )
    purchase.name, purchase.kind = "checkout", "scenario"
    run = a_run(n, purchase)
    known = run.volatile_values()
    downloads = CheckResult(findings=[f.finalize("downloads", BASE, known) for f in findings])
    downloads.name, downloads.kind = "downloads", "delivery"
    run.checks.append(downloads)
    return run


def apply(store: Store, run: RunResult, cfg: AlertsConfig) -> None:
    recorded(store, run)
    process_run(store, run, cfg, now=run.started_at + timedelta(minutes=5))


def test_the_same_dead_download_with_a_fresh_token_each_night_is_one_incident(
    store: Store, webhook: Webhook
) -> None:
    cfg = AlertsConfig.model_validate({"channels": {"hook": {"url": webhook.url()}}})
    rnd = random.Random(12)
    shown: set[str] = set()
    for n in range(5):
        order = str(1040 + n)
        real = f"{BASE}/account/orders/{order}/downloads/{signed(rnd, 1040 + n)}/"
        run = night(n, dead_download(real[len(BASE) :]), order=order)
        apply(store, run, cfg)
        shown.add(run.findings[-1].url)
        assert run.findings[-1].evidence["url"] == real
    assert shown == {f"{BASE}/account/orders/{{token}}/downloads/{{token}}/"}
    [incident] = store.list_incidents()
    assert (incident.consecutive_failures, incident.first_seen_run, incident.last_seen_run) == (
        5,
        "run-000",
        "run-004",
    )
    assert len(webhook.titles()) == 1


def test_a_second_dead_download_opens_a_second_incident(store: Store, webhook: Webhook) -> None:
    cfg = AlertsConfig.model_validate({"channels": {"hook": {"url": webhook.url()}}})
    rnd = random.Random(13)
    for n in range(3):
        ebook = dead_download(f"/downloads/ebook/{signed(rnd, n)}/")
        findings = [ebook] if n == 0 else [ebook, dead_download(f"/downloads/audiobook/{signed(rnd, n)}/")]
        apply(store, night(n, *findings, order=str(2000 + n)), cfg)
    incidents = store.list_incidents()
    assert sorted((i.url, i.consecutive_failures) for i in incidents) == [
        (f"{BASE}/downloads/audiobook/{{token}}/", 2),
        (f"{BASE}/downloads/ebook/{{token}}/", 3),
    ]


def test_finalizing_twice_keeps_the_fingerprint_and_the_real_url() -> None:
    rnd = random.Random(14)
    finding = dead_download(f"/downloads/{signed(rnd, 1)}/")
    real = finding.url
    first = finding.finalize("downloads", BASE).fingerprint
    assert finding.finalize("downloads", BASE).fingerprint == first
    assert finding.evidence["url"] == real


def test_a_run_knows_its_own_values_from_its_checks_outputs() -> None:
    run = night(0, order="A-1042")
    assert set(run.volatile_values()) == {"run-000", "A-1042", "audit+run-000@x.test"}


def test_five_crawls_of_a_shop_whose_dead_download_link_has_a_new_token_each_night_open_one_incident(
    tmp_path: Path, store: Store, webhook: Webhook
) -> None:
    import asyncio

    from auditor import config
    from auditor.runner import RunOptions, run_audit
    from tests.crawl.site import Site, page, serve

    rnd = random.Random(15)
    site = Site()
    with serve(site.app) as base:
        settings = config.from_dict(
            {
                "report_dir": str(tmp_path / "reports"),
                "sites": {"shop": {"base_url": base}},
                "checks": {"links": {"kind": "crawl", "external": False, "sitemap": False}},
                "audits": {"nightly": {"checks": ["links"]}},
                "alerts": {"channels": {"hook": {"url": webhook.url()}}},
            },
            environ={},
        )
        real = []
        for _ in range(5):
            token = signed(rnd, rnd.randint(1, 10**6))
            site.pages = {"/": page(f"/download/{token}/")}
            real.append(f"{base}/download/{token}/")
            run = asyncio.run(run_audit(settings, "nightly", RunOptions(recorder=store)))
            process_run(store, run, settings.model.alerts)
            assert [(f.url, f.evidence["url"]) for f in run.findings] == [
                (f"{base}/download/{{token}}/", real[-1])
            ]
    [incident] = store.list_incidents()
    assert incident.consecutive_failures == 5
    assert len(webhook.titles()) == 1

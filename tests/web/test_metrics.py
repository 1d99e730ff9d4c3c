"""/metrics: each site's state for Prometheus, built from the store at scrape time, behind a token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from auditor.config import load
from tests.web.test_api_support import DAY0, Installation, database, install, record


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    folder = tmp_path_factory.mktemp("metrics")
    with database("sqlite", folder) as url:
        yield install(folder, url)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def app(inst: Installation, public: bool = False):  # type: ignore[no-untyped-def]
    from auditor.web.app import create_app

    settings = inst.settings
    if public:
        config = inst.folder / "public-metrics.toml"
        config.write_text(inst.config.read_text() + "\n[web]\nmetrics_public = true\n")
        settings = load(config)
    return create_app(settings, database_url=inst.url)


def test_metrics_tell_each_sites_status_last_run_and_open_incidents(inst: Installation) -> None:
    with TestClient(app(inst), base_url="http://127.0.0.1") as client:
        r = client.get("/metrics", headers=inst.headers("admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = samples(r.text)
    acme = "acme" if inst.clients else ""
    shop = (("client", acme), ("site", "acme-shop"))
    assert got[("auditor_site_status", (*shop, ("status", "fail")))] == 1
    assert got[("auditor_site_status", (*shop, ("status", "pass")))] == 0
    assert got[("auditor_site_failing", shop)] == 1
    assert got[("auditor_site_open_incidents", shop)] == 1
    last = (("audit", "nightly-acme"), *shop)
    day2 = (DAY0 + timedelta(days=2)).timestamp()
    assert got[("auditor_site_last_run_timestamp_seconds", last)] == day2
    assert got[("auditor_site_last_run_duration_seconds", last)] == 240.0
    assert got[("auditor_site_broken_since_timestamp_seconds", shop)] == day2
    outlet = (("client", acme), ("site", "acme-outlet"))
    assert got[("auditor_site_failing", outlet)] == 0
    assert ("auditor_site_broken_since_timestamp_seconds", outlet) not in got


def test_a_viewers_metrics_hold_only_its_clients_sites(inst: Installation) -> None:
    inst.needs_clients()
    with TestClient(app(inst), base_url="http://127.0.0.1") as client:
        text = client.get("/metrics", headers=inst.headers("bolt")).text
    assert {dict(labels)["site"] for _, labels in samples(text)} == {"bolt-shop"}


def test_metrics_need_a_token_unless_made_public(inst: Installation) -> None:
    from auditor.config import SettingsModel

    if "web" not in SettingsModel.model_fields:
        pytest.skip("auditor.toml has no [web] section yet")
    with TestClient(app(inst), base_url="http://127.0.0.1") as client:
        assert client.get("/metrics").status_code == 401
    with TestClient(app(inst, public=True), base_url="http://127.0.0.1") as client:
        r = client.get("/metrics")
    assert r.status_code == 200
    assert {dict(labels)["site"] for _, labels in samples(r.text)} == {
        "acme-shop",
        "acme-outlet",
        "bolt-shop",
    }


def test_a_scrape_reads_the_store_as_it_is_now(inst: Installation) -> None:
    from auditor.store import Store

    with TestClient(app(inst), base_url="http://127.0.0.1") as client:
        before = samples(client.get("/metrics", headers=inst.headers("admin")).text)
        store = Store.open(inst.url)
        try:
            record(store, "acme-outlet", "nightly-acme", 5, "fail", 1)
        finally:
            store.close()
        after = samples(client.get("/metrics", headers=inst.headers("admin")).text)
    outlet = (("client", "acme" if inst.clients else ""), ("site", "acme-outlet"))
    assert (before[("auditor_site_failing", outlet)], after[("auditor_site_failing", outlet)]) == (0, 1)

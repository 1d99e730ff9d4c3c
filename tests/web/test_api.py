"""The JSON API through the real app (`create_app`, called in-process by Starlette's TestClient), on
a store with two clients' sites, called with real API tokens of an admin and of two client viewers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.web.test_api_support import Installation, database, install

ROUTES = [
    "/api/v1/sites",
    "/api/v1/sites/acme-shop",
    "/api/v1/runs",
    "/api/v1/runs/acme-shop-02",
    "/api/v1/runs/acme-shop-02/findings",
    "/api/v1/incidents",
    "/api/v1/incidents/1",
    "/metrics",
]


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def inst(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    folder = tmp_path_factory.mktemp("api")
    with database(request.param, folder) as url:
        yield install(folder, url)


@pytest.fixture(scope="module")
def client(inst: Installation) -> Iterator[TestClient]:
    from auditor.web.app import create_app

    with TestClient(create_app(inst.settings, database_url=inst.url), base_url="http://127.0.0.1") as c:
        yield c


def get(http: TestClient, inst: Installation, user: str, path: str, **params: Any) -> httpx.Response:
    # `http`, not `client`: `client` is also a query parameter of /api/v1/sites.
    return http.get(path, headers=inst.headers(user), params=params)


def test_nothing_is_answered_without_a_valid_token(client: TestClient) -> None:
    for path in ROUTES:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}):
            r = client.get(path, headers=headers)
            assert r.status_code == 401, (path, headers, r.text)
            if path.startswith("/api/"):
                assert r.headers["content-type"].startswith("application/json")
                assert r.json()["error"]


def test_an_admin_sees_every_site_with_its_status_now(client: TestClient, inst: Installation) -> None:
    r = get(client, inst, "admin", "/api/v1/sites")
    assert r.status_code == 200
    sites = {s["name"]: s for s in r.json()["sites"]}
    assert {n: s["status"] for n, s in sites.items()} == {
        "acme-shop": "fail",
        "acme-outlet": "warn",
        "bolt-shop": "fail",
    }
    shop = sites["acme-shop"]
    if inst.clients:
        assert shop["client"] == "acme" and shop["tags"] == ["woocommerce"] and shop["public"] is True
    assert shop["open_incidents"] == 1
    assert shop["broken_since"] == "2026-11-03T03:00:00Z"
    assert [c["status"] for c in shop["strip"]] == ["pass", "pass", "fail"]
    assert shop["last_run"]["id"] == "acme-shop-02" and shop["last_run"]["duration_s"] == 240.0
    # bolt failed, passed on day 2, failed again: broken since day 3, not day 0.
    assert sites["bolt-shop"]["broken_since"] == "2026-11-04T03:00:00Z"


def test_sites_filter_by_client_and_tag_and_sort_broken_longest_first(
    client: TestClient, inst: Installation
) -> None:
    inst.needs_clients()

    def names(**params: str) -> list[str]:
        r = get(client, inst, "admin", "/api/v1/sites", **params)
        assert r.status_code == 200, r.text
        return [s["name"] for s in r.json()["sites"]]

    assert names(client="acme") == ["acme-shop", "acme-outlet"]
    assert names(tag="woocommerce") == ["acme-shop", "bolt-shop"]
    assert names(sort="broken") == ["acme-shop", "bolt-shop", "acme-outlet"]


def test_a_viewer_sees_only_its_clients_sites_and_runs(client: TestClient, inst: Installation) -> None:
    inst.needs_clients()
    r = get(client, inst, "acme", "/api/v1/sites")
    assert [s["name"] for s in r.json()["sites"]] == ["acme-shop", "acme-outlet"]
    runs = (get(client, inst, "acme", "/api/v1/runs", limit="500")).json()["runs"]
    assert {r["site"] for r in runs} == {"acme-shop", "acme-outlet"}
    incidents = (get(client, inst, "acme", "/api/v1/incidents")).json()["incidents"]
    assert {i["site"] for i in incidents} == {"acme-shop"}
    bolt = (get(client, inst, "acme", "/api/v1/runs", site="bolt-shop")).json()
    assert bolt == {"runs": [], "next_cursor": None}


def test_another_clients_objects_are_404_exactly_like_missing_ones(
    client: TestClient, inst: Installation
) -> None:
    inst.needs_clients()
    bolt_incident = next(
        i["id"]
        for i in (get(client, inst, "admin", "/api/v1/incidents")).json()["incidents"]
        if i["site"] == "bolt-shop"
    )
    for theirs, missing in (
        ("/api/v1/sites/bolt-shop", "/api/v1/sites/no-such-shop"),
        ("/api/v1/runs/bolt-shop-03", "/api/v1/runs/no-such-run"),
        ("/api/v1/runs/bolt-shop-03/findings", "/api/v1/runs/no-such-run/findings"),
        (f"/api/v1/incidents/{bolt_incident}", "/api/v1/incidents/999999"),
    ):
        a = get(client, inst, "acme", theirs)
        b = get(client, inst, "acme", missing)
        assert (a.status_code, a.json()) == (b.status_code, b.json()), theirs
        assert a.status_code == 404
        assert (get(client, inst, "bolt", theirs)).status_code == 200


def test_a_site_has_its_history_newest_first_with_findings_by_kind(
    client: TestClient, inst: Installation
) -> None:
    r = get(client, inst, "admin", "/api/v1/sites/acme-shop")
    assert r.status_code == 200
    body = r.json()
    assert [h["id"] for h in body["history"]] == ["acme-shop-02", "acme-shop-01", "acme-shop-00"]
    assert body["history"][0]["findings"] == {"broken_link": 3}
    assert [(i["site"], i["status"]) for i in body["incidents"]] == [("acme-shop", "open")]
    short = (get(client, inst, "admin", "/api/v1/sites/acme-shop", limit="1")).json()
    assert [h["id"] for h in short["history"]] == ["acme-shop-02"]


def test_runs_page_through_with_a_cursor_and_filter(client: TestClient, inst: Installation) -> None:
    seen: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    while True:
        body = (get(client, inst, "admin", "/api/v1/runs", **params)).json()
        seen += [r["id"] for r in body["runs"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert len(seen) == len(set(seen)) == 8
    # Newest first; runs started at the same time come by id, highest first.
    assert seen[:3] == ["bolt-shop-03", "bolt-shop-02", "acme-shop-02"]
    fails = (get(client, inst, "admin", "/api/v1/runs", site="bolt-shop", status="fail")).json()["runs"]
    assert [r["id"] for r in fails] == ["bolt-shop-03", "bolt-shop-01", "bolt-shop-00"]
    nightly = (get(client, inst, "admin", "/api/v1/runs", audit="nightly-acme")).json()["runs"]
    assert {r["site"] for r in nightly} == {"acme-shop", "acme-outlet"}


def test_a_run_has_its_checks_and_its_findings_page_by_page(client: TestClient, inst: Installation) -> None:
    run = (get(client, inst, "admin", "/api/v1/runs/acme-shop-02")).json()
    assert run["status"] == "fail" and run["site"] == "acme-shop" and run["audit"] == "nightly-acme"
    assert [(c["name"], c["kind"]) for c in run["checks"]] == [("links", "crawl")]
    assert run["findings_by_kind"] == {"broken_link": 3} and run["findings_by_severity"] == {"error": 3}
    assert "report_dir" not in run  # a path on the server is no business of the client's
    first = (get(client, inst, "admin", "/api/v1/runs/acme-shop-02/findings", limit="2")).json()
    rest = (
        get(client, inst, "admin", "/api/v1/runs/acme-shop-02/findings", cursor=first["next_cursor"])
    ).json()
    assert [f["url"] for f in first["findings"] + rest["findings"]] == ["/p/0", "/p/1", "/p/2"]
    assert rest["next_cursor"] is None
    only = (get(client, inst, "admin", "/api/v1/runs/acme-shop-02/findings", kind="nothing")).json()
    assert only["findings"] == []


def test_incidents_filter_by_status_and_site(client: TestClient, inst: Installation) -> None:
    opened = (get(client, inst, "admin", "/api/v1/incidents", status="open")).json()["incidents"]
    assert sorted(i["site"] for i in opened) == ["acme-shop", "bolt-shop"]
    assert (get(client, inst, "admin", "/api/v1/incidents", status="resolved")).json()["incidents"] == []
    one = (get(client, inst, "admin", "/api/v1/incidents", site="bolt-shop")).json()["incidents"]
    assert [i["site"] for i in one] == ["bolt-shop"]
    got = (get(client, inst, "admin", f"/api/v1/incidents/{one[0]['id']}")).json()
    assert got == one[0]


@pytest.mark.parametrize(
    ("path", "params", "names"),
    [
        ("/api/v1/runs", {"limit": "0"}, "limit"),
        ("/api/v1/runs", {"limit": "501"}, "limit"),
        ("/api/v1/runs", {"limit": "ten"}, "limit"),
        ("/api/v1/runs", {"cursor": "not-a-cursor"}, "cursor"),
        ("/api/v1/runs", {"site": "a\x00b"}, "site"),
        ("/api/v1/incidents", {"status": "burning"}, "status"),
        ("/api/v1/incidents", {"cursor": "eyJpZCI6IngifQ"}, "cursor"),
        ("/api/v1/sites", {"sort": "random"}, "sort"),
        ("/api/v1/runs/acme-shop-02/findings", {"limit": "1001"}, "limit"),
    ],
)
def test_a_bad_parameter_is_a_400_that_names_it(
    client: TestClient, inst: Installation, path: str, params: dict[str, str], names: str
) -> None:
    r = get(client, inst, "admin", path, **params)
    assert r.status_code == 400, r.text
    assert names in r.json()["error"] or "cursor" in r.json()["error"]


def test_a_huge_or_odd_incident_id_is_simply_not_found(client: TestClient, inst: Installation) -> None:
    for raw in ("99999999999999999999", "0", "-1", "1e3", "%E2%91%A0"):
        r = client.get(f"/api/v1/incidents/{raw}", headers=inst.headers("admin"))
        assert r.status_code == 404, (raw, r.text)


def test_only_an_admin_may_start_a_run(client: TestClient, inst: Installation) -> None:
    inst.needs_clients()
    r = client.post("/api/v1/sites/acme-shop/runs", headers=inst.headers("acme"), json={})
    assert r.status_code == 403 and "admin" in r.json()["error"]
    r = client.post("/api/v1/sites/acme-shop/runs", headers=inst.headers("bolt"), json={})
    assert r.status_code == 404
    r = client.post("/api/v1/sites/acme-shop/runs", json={})
    assert r.status_code == 401

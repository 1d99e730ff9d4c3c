"""/badge/SITE.svg: a public site's badge for anyone, a private one only for who may see the site."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from auditor.web.badge import LOOKS, render
from tests.web.test_api_support import Installation, database, install

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    folder = tmp_path_factory.mktemp("badge")
    with database("sqlite", folder) as url:
        yield install(folder, url)


@pytest.fixture(scope="module")
def client(inst: Installation) -> Iterator[TestClient]:
    from auditor.web.app import create_app

    with TestClient(create_app(inst.settings, database_url=inst.url), base_url="http://127.0.0.1") as c:
        yield c


def words(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_a_public_sites_badge_is_readable_without_login(client: TestClient, inst: Installation) -> None:
    inst.needs_clients()
    r = client.get("/badge/acme-shop.svg")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "no-cache" in r.headers["cache-control"]
    assert "failing" in words(r.text)
    assert ET.fromstring(r.text).find(f"{SVG}title").text == "acme-shop: failing"  # type: ignore[union-attr]


def test_a_private_sites_badge_is_404_for_anonymous_and_other_clients(
    client: TestClient, inst: Installation
) -> None:
    missing = client.get("/badge/no-such-shop.svg")
    for headers in ({}, inst.headers("bolt"), {"Authorization": "Bearer wrong"}):
        r = client.get("/badge/acme-outlet.svg", headers=headers)
        assert (r.status_code, r.text) == (missing.status_code, missing.text) == (404, "no such site")


def test_a_private_sites_badge_shows_to_who_may_see_it(client: TestClient, inst: Installation) -> None:
    for user in ("acme", "admin") if inst.clients else ("admin",):
        r = client.get("/badge/acme-outlet.svg", headers=inst.headers(user))
        assert r.status_code == 200 and "degraded" in words(r.text)


def test_each_status_has_its_own_words_and_colour() -> None:
    assert len({colour for _, colour in LOOKS.values() if colour != "#9f9f9f"}) == 4
    for status, (message, colour) in LOOKS.items():
        svg = render(status)
        assert message in words(svg) and colour in svg
    assert "unknown" in words(render("something new"))


@given(st.text(max_size=60), st.sampled_from(sorted(LOOKS)))
def test_the_badge_is_valid_svg_whatever_the_sites_name(name: str, status: str) -> None:
    root = ET.fromstring(render(status, title=f"{name}: x"))
    assert root.tag == f"{SVG}svg" and float(root.attrib["width"]) > 0

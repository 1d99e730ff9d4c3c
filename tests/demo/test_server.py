from __future__ import annotations

import socket
import time

import httpx

from auditor.demo import DemoShop, create_app, parse_faults


def test_it_starts_on_a_free_loopback_port_quickly_and_frees_it_on_stop() -> None:
    began = time.monotonic()
    with DemoShop() as shop:
        assert time.monotonic() - began < 2
        assert shop.base_url == f"http://127.0.0.1:{shop.port}"
        assert httpx.get(shop.base_url + "/").status_code == 200
        port = shop.port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_two_shops_keep_separate_state() -> None:
    with DemoShop() as a, DemoShop(faults=parse_faults(["dead-link"], environ={})) as b:
        assert a.port != b.port
        httpx.post(a.base_url + "/cart/add", data={"product": "enamel-mug"})
        assert 'href="/shipping-policy"' in httpx.get(b.base_url + "/").text
        assert 'href="/shipping-policy"' not in httpx.get(a.base_url + "/").text


def test_create_app_builds_a_healthy_shop_by_default() -> None:
    assert create_app().state.shop.faults.names() == []

"""Helpers for demo shop tests: a customer who buys and logs in by form POSTs, the ledger, a link walk."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from auditor.demo import DemoShop

APPROVE = "4242 4242 4242 4242"
DECLINE = "4000 0000 0000 0002"

# start_shop("dead-link", ...) -> a running shop with those faults (the conftest fixture).
StartShop = Callable[..., DemoShop]


@dataclass
class Purchase:
    """What a customer saw after paying."""

    response: httpx.Response
    order: str  # the order number from the pay redirect or page, "" if none

    @property
    def thank_you_url(self) -> str:
        return f"/thank-you/{self.order}"


def place_order(client: httpx.Client, slug: str, email: str, **fields: str) -> str:
    """Add a product to the cart and check out (more checkout `fields`, e.g. create_account="1");
    returns the order number."""
    assert client.post("/cart/add", data={"product": slug, "quantity": "1"}).status_code == 303
    data = {"name": "Ada Lovelace", "email": email, "address": "1 Loop Rd, Portland", **fields}
    response = client.post("/checkout", data=data)
    assert response.status_code == 303, response.text
    return response.headers["location"].split("order=")[1]


def pay(client: httpx.Client, order: str, card: str = APPROVE) -> httpx.Response:
    return client.post("/pay", data={"order": order, "card": card, "expiry": "12/30", "cvc": "123"})


def buy(client: httpx.Client, slug: str, email: str, card: str = APPROVE, **fields: str) -> Purchase:
    """The whole purchase by form POSTs, following redirects to the last page."""
    order = place_order(client, slug, email, **fields)
    response = pay(client, order, card)
    if response.is_redirect:
        response = client.get(response.headers["location"])
    return Purchase(response, order)


def unique_email(who: str) -> str:
    """An address no other test uses: the tests share one SMTP server."""
    return f"{who}-{secrets.token_hex(4)}@example.com"


def log_in(client: httpx.Client, email: str, password: str, next_path: str = "") -> httpx.Response:
    data = {"email": email, "password": password}
    if next_path:
        data["next"] = next_path
    return client.post("/login", data=data)


def ledger(client: httpx.Client, email: str) -> list[dict[str, object]]:
    data = client.get("/_test/ledger", params={"email": email}).json()
    assert data["email"] == email
    charges: list[dict[str, object]] = data["charges"]
    return charges


@dataclass
class Walk:
    """What a link walk found: every URL fetched with its status, and the broken references."""

    statuses: dict[str, int] = field(default_factory=dict)
    broken: set[tuple[str, str]] = field(default_factory=set)  # (page path, broken URL path)
    missing_fragments: set[str] = field(default_factory=set)  # "path#id"


def references(html: str) -> list[str]:
    """Every URL an a/link/script/img/source element points to, srcset candidates included."""
    tree = HTMLParser(html)
    urls = [n.attributes.get("href") or "" for n in tree.css("a[href], link[href]")]
    urls += [n.attributes.get("src") or "" for n in tree.css("script[src], img[src], source[src]")]
    for node in tree.css("img[srcset], source[srcset]"):
        srcset = node.attributes.get("srcset") or ""
        urls += [c.strip().split()[0] for c in srcset.split(",") if c.strip()]
    return [u for u in urls if u]


def walk(client: httpx.Client, *starts: str) -> Walk:
    """Fetch every same-site URL reachable from `starts` by GET; report 404s and bad fragments."""
    base = str(client.base_url).rstrip("/")
    result = Walk()
    queue = list(starts)
    ids: dict[str, set[str]] = {}
    fragments: set[tuple[str, str]] = set()
    sources: dict[str, str] = {}
    while queue:
        path = queue.pop(0)
        if path in result.statuses:
            continue
        response = client.get(path, follow_redirects=True)
        result.statuses[path] = response.status_code
        if response.status_code != 200:
            result.broken.add((sources.get(path, "(start)"), path))
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        tree = HTMLParser(response.text)
        ids[path] = {n.attributes.get("id") or "" for n in tree.css("[id]")}
        for ref in references(response.text):
            absolute = urljoin(base + path, ref)
            if not absolute.startswith(base):
                continue  # mailto: and other sites are not the shop's
            target, fragment = urldefrag(absolute)
            parts = urlsplit(target)
            target_path = parts.path + (f"?{parts.query}" if parts.query else "")
            if fragment:
                fragments.add((target_path, fragment))
            sources.setdefault(target_path, path)
            queue.append(target_path)
    for target_path, fragment in fragments:
        if target_path in ids and fragment not in ids[target_path]:
            result.missing_fragments.add(f"{target_path}#{fragment}")
    return result


def sitemap_paths(client: httpx.Client) -> list[str]:
    body = client.get("/sitemap.xml").text
    return [urlsplit(loc).path for loc in re.findall(r"<loc>([^<]+)</loc>", body)]

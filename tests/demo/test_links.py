from __future__ import annotations

import httpx

from tests.demo.shopper import StartShop, buy, log_in, place_order, sitemap_paths, unique_email, walk

PRODUCT_PAGES = ["/products/canvas-tote-bag", "/products/the-complete-course", "/products/enamel-mug"]
PUBLIC_PAGES = ["/", "/about", "/faq", "/terms", "/contact", "/cart", "/login", "/newsletter", *PRODUCT_PAGES]
PASSWORD = "walker's password"


def buy_and_refill_cart(client: httpx.Client, email: str = "walker@example.com") -> str:
    """Buy the e-book (with an account) and put a tote in the cart, so every page has content;
    the thank-you URL."""
    purchase = buy(client, "the-complete-course", email, create_account="1", password=PASSWORD)
    client.post("/cart/add", data={"product": "canvas-tote-bag"})
    return purchase.thank_you_url


def test_a_walk_of_the_healthy_shop_finds_nothing_broken(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop().base_url) as client:
        email = unique_email("walker")
        thank_you = buy_and_refill_cart(client, email)
        pay_page = f"/pay?order={place_order(client, 'enamel-mug', email)}"
        contact_thanks = client.post("/contact", data={"name": "W", "email": email, "message": "Hi"})
        assert contact_thanks.status_code == 200
        found = walk(client, "/", thank_you, "/checkout", pay_page, *sitemap_paths(client))
        # Logged in, the header and My account have links of their own.
        assert log_in(client, email, PASSWORD).status_code == 303
        found_logged_in = walk(client, "/", "/account")
    for result in (found, found_logged_in):
        assert result.broken == set()
        assert result.missing_fragments == set()
    # The walks did reach every kind of page and asset.
    for path in [
        *PUBLIC_PAGES,
        "/static/shop.css",
        "/static/shop.js",
        "/static/images/favicon.svg",
        "/static/images/tote-sm.svg",
    ]:
        assert found.statuses.get(path) == 200, path
    assert found_logged_in.statuses.get("/account") == 200
    assert "/login" not in found_logged_in.statuses
    for statuses in (found.statuses, found_logged_in.statuses):
        assert any(p.startswith("/download/") for p in statuses)


def test_the_healthy_sitemap_lists_every_public_page_and_only_live_ones(
    start_shop: StartShop,
) -> None:
    with httpx.Client(base_url=start_shop().base_url) as client:
        listed = sitemap_paths(client)
        assert sorted(listed) == sorted(PUBLIC_PAGES)
        assert all(client.get(p).status_code == 200 for p in listed)


def test_robots_disallows_the_private_paths_and_names_the_sitemap(start_shop: StartShop) -> None:
    shop = start_shop()
    robots = httpx.get(shop.base_url + "/robots.txt").text
    for path in ["/cart", "/checkout", "/pay", "/account", "/logout", "/_test/"]:
        assert f"Disallow: {path}\n" in robots
    assert f"Sitemap: {shop.base_url}/sitemap.xml" in robots


def test_dead_link_breaks_one_footer_link_on_every_page(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("dead-link").base_url) as client:
        found = walk(client, "/")
    assert {url for _, url in found.broken} == {"/shipping-policy"}
    assert found.missing_fragments == set()


def test_dead_image_breaks_the_tote_images_only(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("dead-image").base_url) as client:
        found = walk(client, "/")
    assert {url for _, url in found.broken} == {"/static/images/tote-v2.svg", "/static/images/tote-v2-sm.svg"}


def test_stale_sitemap_lists_a_removed_page_and_misses_the_contact_page(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("stale-sitemap").base_url) as client:
        listed = sitemap_paths(client)
        assert "/contact" not in listed
        assert client.get("/").text.count('href="/contact"') >= 1
        found = walk(client, *listed)
    assert {url for _, url in found.broken} == {"/products/summer-sale-bundle"}


def test_thank_you_dead_link_breaks_a_link_on_the_thank_you_page_only(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("thank-you-dead-link").base_url) as client:
        thank_you = buy_and_refill_cart(client)
        found = walk(client, "/", thank_you)
    order = thank_you.rsplit("/", 1)[1]
    assert found.broken == {(thank_you, f"/orders/{order}/track")}


def test_dead_download_breaks_the_download_links_only(start_shop: StartShop) -> None:
    with httpx.Client(base_url=start_shop("dead-download").base_url) as client:
        thank_you = buy_and_refill_cart(client, unique_email("dead-dl"))
        found = walk(client, "/", thank_you)
    [(source, url)] = found.broken
    assert source == thank_you and url.startswith("/download/")

"""Cost per URL of the crawler's URL paths: `urls.join` (the fast path), ada-url, urllib.

    .venv/bin/python bench/url_parse.py

Links are typical shop links found on a page (relative, root-relative, absolute, with queries);
each figure is the best of 5 runs, in microseconds per link.
"""

from __future__ import annotations

import timeit
from urllib.parse import urljoin, urlsplit

from ada_url import join_url

from auditor.crawl.urls import absolute, join

PAGE = "https://shop.example.com/category/shoes/index.html"
ORIGIN, DIRECTORY = "https://shop.example.com", "https://shop.example.com/category/shoes/"
LINKS = [
    "/products/blue-linen-shirt",
    "red-sneaker-42.html",
    "/images/hero.jpg?w=640",
    "https://cdn.example.net/assets/app.3f9a1c.css",
    "../sale/",
    "/search?q=boots&page=2",
    "https://www.facebook.com/harborandpine",
    "/account/login#form",
]


def _urllib(link: str) -> tuple[str, str]:
    parts = urlsplit(urljoin(PAGE, link))
    parts.port  # noqa: B018 - what the old normalise did to validate
    return parts._replace(fragment="").geturl(), parts.fragment


def main() -> None:
    n = 20_000
    cases = {
        "urls.join (fast path; None = falls back)": lambda: [join(ORIGIN, DIRECTORY, u) for u in LINKS],
        "urls.absolute (ada-url, normalised)": lambda: [absolute(PAGE, u) for u in LINKS],
        "ada_url.join_url alone": lambda: [join_url(PAGE, u) for u in LINKS],
        "urllib urljoin + urlsplit (the old slow path)": lambda: [_urllib(u) for u in LINKS],
    }
    for name, fn in cases.items():
        best = min(timeit.repeat(fn, number=n, repeat=5))
        print(f"{name:48s} {best / n / len(LINKS) * 1e6:6.2f} us/link")
    fast = sum(join(ORIGIN, DIRECTORY, u) is not None for u in LINKS)
    print(f"links the fast path answers: {fast}/{len(LINKS)}")


if __name__ == "__main__":
    main()

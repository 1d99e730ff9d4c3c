"""Generate a deterministic static site with a known set of dead links and missing fragments.

The site is a tree of pages (``/p/<i>.html``, ten children each, so every page is a few
clicks from ``/``) with random cross links, nav and footer links, in-page and cross-page
``#fragment`` links, shared images, one stylesheet and one script. A seeded sample of pages
also links to missing pages, missing images and missing fragments; those are written to
``expected.json`` (next to ``site/``, so crawlers never see it) so a crawler's report can be scored exactly.

Usage: python bench/crawl/generate.py OUTDIR [--pages 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

BRANCHING = 10
IMAGES = 100
CROSS_LINKS = 6
DEAD_PAGE_RATE = 0.005
DEAD_IMAGE_RATE = 0.002
MISSING_FRAGMENT_RATE = 0.003
SECTIONS = ("intro", "details", "faq")
WORDS = (
    *("shop", "basket", "order", "delivery", "parcel", "invoice", "refund", "voucher", "coupon"),
    *("price", "size", "colour", "stock", "return", "warranty", "customer", "account"),
    *("checkout", "payment", "shipping", "review"),
)

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
    '<rect width="8" height="8" fill="#{:06x}"/></svg>\n'
)
CSS = "body{font-family:sans-serif;margin:2em}nav a,footer a{margin-right:1em}\n"
JS = "document.documentElement.dataset.bench='1';\n"


def page_path(i: int) -> str:
    """The site path of page ``i``."""
    return f"/p/{i}.html"


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(60))


def _render(i: int, pages: int, rng: random.Random, extra: list[str]) -> tuple[str, int]:
    """Render page ``i``; ``extra`` holds pre-rendered (planted) anchors and images."""
    links: list[str] = []
    nav = ["/", page_path(1 % pages), page_path(2 % pages), page_path(3 % pages), "#top"]
    footer = [page_path(4 % pages), page_path(5 % pages)]
    first = i * BRANCHING + 1
    children = [page_path(c) for c in range(first, min(first + BRANCHING, pages))]
    cross = [page_path(rng.randrange(pages)) for _ in range(CROSS_LINKS)]
    fragments = [
        f"{page_path(rng.randrange(pages))}#{rng.choice(SECTIONS)}",
        f"{page_path(rng.randrange(pages))}#{rng.choice(SECTIONS)}",
        f"#{rng.choice(SECTIONS)}",
    ]
    images = [f"/img/{rng.randrange(IMAGES)}.svg" for _ in range(2)]

    def anchors(hrefs: list[str]) -> str:
        links.extend(hrefs)
        return " ".join(f'<a href="{h}">{h}</a>' for h in hrefs)

    body = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Page {i}</title>",
        '<link rel="stylesheet" href="/static/site.css"><script src="/static/site.js" defer></script>',
        '</head><body><a id="top"></a>',
        f"<nav>{anchors(nav)}</nav>",
        f"<h1>Page {i}</h1>",
    ]
    for name in SECTIONS:
        body.append(f'<h2 id="{name}">{name}</h2><p>{_paragraph(rng)}</p>')
    body.append(f"<ul><li>{anchors(children)}</li><li>{anchors(cross)}</li></ul>")
    body.append(f"<p>{anchors(fragments)}</p>")
    body.append("".join(f'<img src="{src}" alt="">' for src in images))
    body.extend(extra)
    body.append(f"<footer>{anchors(footer)}</footer></body></html>\n")
    # css, js and images count as links too: a checker fetches them.
    count = len(links) + len(images) + 2 + len(extra)
    return "".join(body), count


def _plant(pages: int, rng: random.Random) -> tuple[dict[int, list[str]], list[dict[str, Any]]]:
    """Choose which pages carry which faults; return per-page HTML and the expected findings."""
    extra: dict[int, list[str]] = {}
    expected: list[dict[str, Any]] = []

    def sources_for(count: int) -> list[int]:
        # Page 0 is the start page; keep it clean so every fault needs a real crawl to find.
        return sorted(rng.sample(range(1, pages), min(count, pages - 1)))

    def plant(kind: str, url: str, html: str, count: int) -> None:
        srcs = sources_for(count)
        for s in srcs:
            extra.setdefault(s, []).append(html)
        expected.append({"kind": kind, "url": url, "sources": [page_path(s) for s in srcs]})

    for j in range(max(1, round(pages * DEAD_PAGE_RATE))):
        url = f"/missing/{j}.html"
        # A few dead links are shared by several pages: one finding with many sources.
        plant("broken_link", url, f'<p><a href="{url}">gone {j}</a></p>', 1 + (j % 3 == 0) * 2)
    for j in range(max(1, round(pages * DEAD_IMAGE_RATE))):
        url = f"/img/missing-{j}.svg"
        plant("broken_image", url, f'<img src="{url}" alt="missing {j}">', 1)
    for j in range(max(1, round(pages * MISSING_FRAGMENT_RATE))):
        url = f"{page_path(rng.randrange(pages))}#nowhere-{j}"
        plant("missing_fragment", url, f'<p><a href="{url}">lost {j}</a></p>', 1)
    return extra, expected


def generate(out: Path, pages: int, seed: int = 1) -> dict[str, Any]:
    """Write the site to ``out`` (replacing it) and return the summary stored in expected.json."""
    if pages < 10:
        raise ValueError("the site needs at least 10 pages")
    started = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    root = out / "site"
    (root / "p").mkdir(parents=True)
    (root / "img").mkdir()
    (root / "static").mkdir()
    rng = random.Random(seed)
    extra, expected = _plant(pages, rng)
    links = 0
    for i in range(pages):
        html, count = _render(i, pages, rng, extra.get(i, []))
        links += count
        (root / "p" / f"{i}.html").write_text(html, encoding="utf-8")
    shutil.copyfile(root / "p" / "0.html", root / "index.html")
    for k in range(IMAGES):
        (root / "img" / f"{k}.svg").write_text(SVG.format(k * 2654435761 % 0xFFFFFF))
    (root / "static" / "site.css").write_text(CSS)
    (root / "static" / "site.js").write_text(JS)
    summary: dict[str, Any] = {
        "pages": pages + 1,  # the tree plus / (a copy of page 0)
        "links": links,
        "seed": seed,
        "expected": expected,
        "generated_in_s": round(time.perf_counter() - started, 2),
    }
    (out / "expected.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main() -> None:
    """Parse arguments and generate the site."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    summary = generate(args.out, args.pages, args.seed)
    print(
        f"{summary['pages']} pages, {summary['links']} links, "
        f"{len(summary['expected'])} planted faults in {summary['generated_in_s']} s -> {args.out}"
    )


if __name__ == "__main__":
    main()

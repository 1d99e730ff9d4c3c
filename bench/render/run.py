"""Rendered crawl speed: rendered pages per second, and its share of the HTTP crawl's speed.

Generates (or reuses) bench/crawl's seeded site, serves it with nginx on 127.0.0.1 (the same set-up
as bench/crawl/run.py), then crawls the same first N pages with `auditor crawl` twice, alternately,
in fresh processes: HTTP only, and with `--render` (each page also loaded in Chromium, at the
crawl check's default render_concurrency). Prints the median of --repeat runs of each.

Usage: .venv/bin/python bench/render/run.py [--pages 200] [--site-pages 1000] [--repeat 3]
       [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "crawl"))
from run import _auditor, load, nginx, site  # noqa: E402  (bench/crawl/run.py)


def stats(out: Path) -> dict[str, float]:
    report = json.loads((out / "report.json").read_text())
    merged: dict[str, float] = {}
    for check in report.get("checks", []):
        merged.update(check.get("stats", {}))
    return merged


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=200, help="pages crawled by each run (default 200)")
    p.add_argument("--site-pages", type=int, default=1000, help="size of the generated site (default 1000)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each kind; the median is shown")
    p.add_argument("--concurrency", type=int, default=16, help="HTTP requests in flight (default 16)")
    p.add_argument("--work", type=Path, help="folder for the site and the runs (default: a temp dir)")
    args = p.parse_args()
    work_root = args.work or Path(tempfile.gettempdir()) / "auditor-bench-render"
    work_root.mkdir(parents=True, exist_ok=True)
    work = site(work_root, args.site_pages)
    print(f"cores: {os.cpu_count()}, load before: {load()}")
    walls: dict[str, list[float]] = {"http": [], "render": []}
    rendered: list[float] = []
    crawled: list[int] = []
    with nginx(work / "site", work / "nginx") as url:
        for i in range(args.repeat):
            for kind in ("http", "render"):
                extra = ["--max-pages", str(args.pages), "--no-sitemap"]
                if kind == "render":
                    extra.append("--render")
                out = work / f"run-{kind}"
                m = _auditor(url, out, extra, args.concurrency, kind, args.pages)
                if m.error:
                    print(f"{kind}: {m.error}", file=sys.stderr)
                    return 1
                s = stats(out)
                pages = int(s.get("pages", 0))
                walls[kind].append(m.wall_s)
                crawled.append(pages)
                if kind == "render":
                    rendered.append(s.get("rendered_pages", 0))
                print(
                    f"run {i + 1} {kind:<6}: {pages} pages in {m.wall_s:.2f} s "
                    f"({pages / m.wall_s:.1f} pages/s), peak RSS {m.peak_rss_mb:.0f} MB"
                    + (f", rendered {int(s.get('rendered_pages', 0))}" if kind == "render" else "")
                )
    http, render = statistics.median(walls["http"]), statistics.median(walls["render"])
    pages = min(crawled)  # the site's first N pages (the start page counts as one of them)
    print(f"\nmedian of {args.repeat}, {pages} pages, {os.cpu_count()} cores, load after: {load()}")
    print(f"  HTTP crawl:     {http:6.2f} s  {pages / http:7.1f} pages/s")
    print(f"  rendered crawl: {render:6.2f} s  {pages / render:7.1f} pages/s (rendered {int(min(rendered))})")
    print(f"  rendered / HTTP speed: {http / render:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CPU per request of the crawl's two wires, httpx and aiohttp, on the same nginx-served site.

Both wires fetch the same pages (GET, body read) through `auditor.crawl.wire`, 64 at a time, in
one process; the figure that matters is CPU seconds per request (the wall time depends on the
machine's load). Each wire is run ``--repeat`` times, alternately, and the median is printed.

Usage: python bench/crawl/wire.py [--pages 1000] [--repeat 3] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import CACHE, nginx, site

from auditor.config import SiteConfig
from auditor.crawl.wire import AiohttpWire, Answer, HttpxWire, Take
from auditor.http import build_client, build_session

CONCURRENCY = 64
POOL = 8  # httpx connections per client, as the crawl used them (several small pools)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _body(status: int, headers: dict[str, str]) -> Take:
    return "body"


async def _fetch_all(wire: AiohttpWire | HttpxWire, urls: list[str]) -> list[Answer]:
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(url: str) -> Answer:
        async with sem:
            return await wire.exchange(url, "GET", _body, 10_000_000)

    return await asyncio.gather(*(one(u) for u in urls))


async def _run(name: str, site_cfg: SiteConfig, urls: list[str]) -> tuple[float, float]:
    limits = site_cfg.crawl.model_copy(update={"concurrency": CONCURRENCY})
    cpu, wall = _cpu(), time.perf_counter()
    if name == "aiohttp":
        async with build_session(site_cfg, limits) as session:
            answers = await _fetch_all(AiohttpWire(session, site_cfg.host_settings()), urls)
    else:
        pool = limits.model_copy(update={"concurrency": POOL})
        clients = [build_client(site_cfg, pool) for _ in range(CONCURRENCY // POOL)]
        try:
            answers = await _fetch_all(HttpxWire(clients), urls)
        finally:
            for c in clients:
                await c.aclose()
    assert all(a.status == 200 and a.body for a in answers), f"{name}: not every page answered 200"
    return _cpu() - cpu, time.perf_counter() - wall


def main() -> int:
    """Time both wires and print CPU ms per request."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep", action="store_true", help="keep (and reuse) the site in bench/.cache/work")
    args = p.parse_args()
    root = CACHE / "work" if args.keep else Path(tempfile.mkdtemp(prefix="auditor-wire-"))
    work = site(root, args.pages)
    pages = sorted((work / "site").rglob("*.html"))
    results: dict[str, list[tuple[float, float]]] = {"httpx": [], "aiohttp": []}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with nginx(work / "site", work / "nginx") as base:
        urls = [base + str(path.relative_to(work / "site")) for path in pages]
        cfg = SiteConfig(base_url=base)
        for _ in range(args.repeat):
            for name in results:
                results[name].append(asyncio.run(_run(name, cfg, urls)))
    for name, runs in results.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(
            f"{name:<8} {len(urls)} GETs: CPU {cpu:.2f} s ({cpu / len(urls) * 1000:.2f} ms a request), "
            f"wall {wall:.2f} s (median of {len(runs)})"
        )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

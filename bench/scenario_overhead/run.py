"""Scenario overhead: the bundled guest checkout through auditor vs. the same steps in bare Playwright.

    .venv/bin/python bench/scenario_overhead/run.py [--rounds 7] [--trace off] [--phases] [--profile]

Each round runs both, alternately (auditor first in odd rounds, bare first in even ones), against
one demo shop, each launching its own Chromium as a real run does. "auditor" is a one-check audit
(`kind = "scenario"`, guest-checkout) through `auditor.app.run_audit_now`: config, store, the
runner, the scenario machinery (steps, evidence, outputs), reports. "bare" is the scenario's own
steps in a plain async Playwright script, with the same Chromium and launch args. Prints each
round, the medians and the ratio (target: auditor within 1.2x of bare), and the CPU seconds each
side used (this process and the driver and Chromium it started): on a shared machine wall times
swing with the load, the CPU a side needs much less. `--phases` prints where one auditor run's time
goes (browser start, the scenario, the browser's close, the rest); `--profile` writes a cProfile of
one auditor run (mostly time spent waiting for the browser).

The Chromium both use is found once, before the rounds: the bare script used to call
`find_chromium()` inside its event loop, where Playwright's sync API cannot start, so it silently
skipped Playwright's own build (a machine with one would have compared two different browsers),
and a bare script knows its browser's path anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from auditor import config as config_mod  # noqa: E402
from auditor.app import run_audit_now  # noqa: E402
from auditor.browser.locate import LAUNCH_ARGS, find_chromium  # noqa: E402
from auditor.demo import DemoShop  # noqa: E402
from auditor.mail.sink import MailSink  # noqa: E402
from auditor.scenarios.fixtures import APPROVES  # noqa: E402

PRODUCT = "/products/the-complete-course"


CHROMIUM = ""  # found once by main()


async def bare(base: str, n: int) -> None:
    """guest_checkout's steps, with nothing around them."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            response = await page.goto(base + PRODUCT)
            assert response is not None and response.status < 400
            await page.click("#add-to-cart")
            await page.wait_for_url("**/cart")
            await page.goto(base + "/checkout")
            await page.fill("#name", "Bench Customer")
            await page.fill("#email", f"bench-bare-{n}-{time.time_ns()}@example.com")
            await page.fill("#address", "1 Audit Lane, Testville")
            await page.check("#create-account")
            await page.fill("#password", "a long bench password")
            await page.click("#checkout-button")
            await page.wait_for_url("**/pay?order=*")
            await page.locator(".summary .total span").last.inner_text()
            await page.fill("#card", APPROVES)
            await page.fill("#expiry", "12/30")
            await page.fill("#cvc", "123")
            async with page.expect_navigation() as navigation:
                await page.click("#pay-button")
            await navigation.value
            assert "/thank-you/" in page.url
            await page.locator("h1").inner_text()
            await page.locator(".order-number").inner_text()
            await page.locator(".order-total").inner_text()
            hrefs = await page.locator("a.download").evaluate_all("l => l.map(a => a.getAttribute('href'))")
            assert hrefs
            origin = urlsplit(page.url).netloc
            links = await page.locator("main a[href]:not(.download)").evaluate_all(
                "links => links.map(a => [a.href, (a.innerText || a.title || '').trim()])"
            )
            seen: set[str] = set()
            for href, _ in links:
                url = href.split("#")[0]
                if urlsplit(url).netloc == origin and url not in seen:
                    seen.add(url)
                    r = await context.request.get(url)
                    assert r.status < 400
            await context.close()
        finally:
            await browser.close()


TRACE = "on-failure"


def through_auditor(base: str, work: Path, n: int) -> None:
    check = {"kind": "scenario", "scenario": "guest-checkout", "paths": ["bundled"], "trace": TRACE}
    settings = config_mod.ad_hoc(
        base,
        {"checkout": check},
        audit="checkout",
        site={"allow_orders": True},
        database_url=f"sqlite:///{work / 'bench.db'}",
        report_dir=str(work / "reports"),
    )
    run, code = run_audit_now(settings, "checkout", trigger="bench")
    if run.findings or int(code) != 0:
        raise SystemExit(f"the auditor run failed: {[f.message for f in run.findings]}")


def cpu_s() -> float:
    """CPU seconds of this process and of its children that have ended (the driver, and Chromium
    under it): each side's own runs both, the demo shop's threads count on both sides alike."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def phases(base: str, work: Path) -> None:
    """One auditor run with the time of its parts: Chromium's start, the scenario (its context,
    tracing, page, body), Chromium's close; the rest is config, store, runner and reports."""
    from auditor.browser.launch import SharedBrowser
    from auditor.checks import scenario as check_mod
    from auditor.scenarios import run as run_mod

    spent: dict[str, float] = {}

    def timed(owner: Any, attr: str, label: str) -> None:
        original = getattr(owner, attr)

        async def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return await original(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t

        setattr(owner, attr, wrapper)
        undo.append((owner, attr, original))

    undo: list[tuple[Any, str, Any]] = []
    labels = [
        "browser start (driver + Chromium)",
        "run_scenario (context, trace, page, body)",
        "  of which the scenario's body",
        "browser close",
    ]
    timed(SharedBrowser, "_launch", labels[0])
    timed(check_mod, "run_scenario", labels[1])
    timed(run_mod._Run, "_call", labels[2])
    timed(SharedBrowser, "close", labels[3])
    try:
        t = time.perf_counter()
        through_auditor(base, work, 98)
        total = time.perf_counter() - t
    finally:
        for owner, attr, original in undo:
            setattr(owner, attr, original)
    for label in labels:
        print(f"  {label:44s} {spent.get(label, 0.0):5.2f} s")
    parts = sum(v for k, v in spent.items() if not k.startswith(" "))
    print(f"  {'the rest (config, store, runner, reports)':44s} {total - parts:5.2f} s")
    print(f"  {'total':44s} {total:5.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="write a cProfile of one auditor run")
    ap.add_argument("--phases", action="store_true", help="time the parts of one auditor run")
    ap.add_argument(
        "--trace",
        default="on-failure",
        choices=["on-failure", "always", "off"],
        help="the scenario's `trace`",
    )
    args = ap.parse_args()
    global TRACE, CHROMIUM
    TRACE = args.trace
    CHROMIUM = find_chromium().path
    times: dict[str, list[float]] = {"auditor": [], "bare": []}
    cpu: dict[str, list[float]] = {"auditor": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with MailSink(f"sqlite:///{work / 'mail.db'}", port=0) as sink, DemoShop(smtp_port=sink.port) as shop:
            # One warm-up of each (Chromium's first start, imports), not counted.
            through_auditor(shop.base_url, work, 0)
            asyncio.run(bare(shop.base_url, 0))
            for n in range(1, args.rounds + 1):
                order = ("auditor", "bare") if n % 2 else ("bare", "auditor")
                for which in order:
                    start, cpu_start = time.perf_counter(), cpu_s()
                    if which == "auditor":
                        through_auditor(shop.base_url, work, n)
                    else:
                        asyncio.run(bare(shop.base_url, n))
                    times[which].append(time.perf_counter() - start)
                    cpu[which].append(cpu_s() - cpu_start)
                print(
                    f"round {n}: auditor {times['auditor'][-1]:.2f} s ({cpu['auditor'][-1]:.2f} s CPU), "
                    f"bare {times['bare'][-1]:.2f} s ({cpu['bare'][-1]:.2f} s CPU)",
                    flush=True,
                )
            if args.phases:
                print("one auditor run:")
                phases(shop.base_url, work)
            if args.profile:
                out = work / "auditor.prof"
                cProfile.runctx("through_auditor(shop.base_url, work, 99)", globals(), locals(), str(out))
                pstats.Stats(str(out)).sort_stats("cumulative").print_stats(35)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = med["auditor"] / med["bare"]
    print(
        f"median over {args.rounds} rounds: auditor {med['auditor']:.2f} s, bare {med['bare']:.2f} s, "
        f"ratio {ratio:.2f}x (target <= 1.20x); CPU auditor {med_cpu['auditor']:.2f} s, "
        f"bare {med_cpu['bare']:.2f} s, ratio {med_cpu['auditor'] / med_cpu['bare']:.2f}x"
    )
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())

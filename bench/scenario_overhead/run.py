"""Scenario overhead: the bundled guest checkout through auditor vs. the same steps in bare Playwright.

    .venv/bin/python bench/scenario_overhead/run.py [--rounds 7] [--profile]

Each round runs both, alternately (auditor first in odd rounds, bare first in even ones), against
one demo shop, each launching its own Chromium as a real run does. "auditor" is a one-check audit
(`kind = "scenario"`, guest-checkout) through `auditor.app.run_audit_now`: config, store, the
runner, the scenario machinery (steps, evidence, outputs), reports. "bare" is the scenario's own
steps in a plain async Playwright script. Prints each round, the medians and the ratio
(target: auditor within 1.2x of bare). `--profile` writes a cProfile of one auditor run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
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


async def bare(base: str, n: int) -> None:
    """guest_checkout's steps, with nothing around them."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=find_chromium().path, args=LAUNCH_ARGS)
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="write a cProfile of one auditor run")
    ap.add_argument(
        "--trace",
        default="on-failure",
        choices=["on-failure", "always", "off"],
        help="the scenario's `trace`",
    )
    args = ap.parse_args()
    global TRACE
    TRACE = args.trace
    times: dict[str, list[float]] = {"auditor": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with MailSink(f"sqlite:///{work / 'mail.db'}", port=0) as sink, DemoShop(smtp_port=sink.port) as shop:
            # One warm-up of each (Chromium's first start, imports), not counted.
            through_auditor(shop.base_url, work, 0)
            asyncio.run(bare(shop.base_url, 0))
            for n in range(1, args.rounds + 1):
                order = ("auditor", "bare") if n % 2 else ("bare", "auditor")
                for which in order:
                    start = time.perf_counter()
                    if which == "auditor":
                        through_auditor(shop.base_url, work, n)
                    else:
                        asyncio.run(bare(shop.base_url, n))
                    times[which].append(time.perf_counter() - start)
                print(
                    f"round {n}: auditor {times['auditor'][-1]:.2f} s, bare {times['bare'][-1]:.2f} s",
                    flush=True,
                )
            if args.profile:
                out = work / "auditor.prof"
                cProfile.runctx("through_auditor(shop.base_url, work, 99)", globals(), locals(), str(out))
                pstats.Stats(str(out)).sort_stats("cumulative").print_stats(35)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["auditor"] / med["bare"]
    print(
        f"median over {args.rounds} rounds: auditor {med['auditor']:.2f} s, bare {med['bare']:.2f} s, "
        f"ratio {ratio:.2f}x (target <= 1.20x)"
    )
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())

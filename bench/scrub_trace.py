"""Time to scrub a real Playwright trace of several megabytes.

    .venv/bin/python bench/scrub_trace.py [ROUNDS]

Records a trace in Chromium against the demo shop: ROUNDS (default 40) times the guest checkout's
pages with a typed password and card, snapshots and screenshots on, as `run_scenario` records.
Then scrubs it with a run's usual secrets (password, header, cookie and two ${ENV} values) and
prints the trace's size, its JSON logs' size and the best of 3 scrubbing times.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from auditor.browser.launch import SharedBrowser
from auditor.demo import DemoShop, parse_faults
from auditor.scrub import Scrubber

PASSWORD = "Bench-Passw0rd!"
CARD = "4242 4242 4242 4242"


async def record(base: str, path: Path, rounds: int) -> None:
    shared = SharedBrowser()
    try:
        browser = await shared.get()
        context = await browser.new_context(base_url=base)
        await context.tracing.start(screenshots=True, snapshots=True)
        page = await context.new_page()
        for i in range(rounds):
            await page.goto("/products/the-complete-course")
            await page.click("#add-to-cart")
            await page.wait_for_url("**/cart")
            await page.goto("/checkout")
            await page.fill("#name", "Ada Auditor")
            await page.fill("#email", f"bench+{i}@example.com")
            await page.fill("#address", "1 Audit Lane")
            await page.check("#create-account")
            await page.fill("#password", PASSWORD)
            await page.click("#checkout-button")
            await page.wait_for_url("**/pay?order=*")
            await page.fill("#card", CARD)
            await page.fill("#expiry", "12/30")
            await page.fill("#cvc", "123")
        await context.tracing.stop(path=str(path))
        await context.close()
    finally:
        await shared.close()


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with tempfile.TemporaryDirectory() as tmp, DemoShop(faults=parse_faults([], environ={})) as shop:
        raw, out = Path(tmp) / "raw.zip", Path(tmp) / "trace.zip"
        asyncio.run(record(shop.base_url, raw, rounds))
        with zipfile.ZipFile(raw) as z:
            logs = sum(i.file_size for i in z.infolist() if i.filename.endswith((".trace", ".network")))
            total = sum(i.file_size for i in z.infolist())
        scrubber = Scrubber(
            secrets=frozenset(
                {PASSWORD, "hdr-Secret-7f3a9c", "ck-Secret-19be42", "env-token-0001", "x" * 40}
            ),
            header_names=frozenset({"x-staging-token"}),
        )
        best = min(_timed(scrubber, raw, out) for _ in range(3))
        print(
            f"trace {raw.stat().st_size / 1e6:.1f} MB zipped, {total / 1e6:.1f} MB unzipped "
            f"({logs / 1e6:.1f} MB of JSON logs): scrubbed in {best:.2f} s "
            f"({total / 1e6 / best:.1f} MB/s unzipped)"
        )


def _timed(scrubber: Scrubber, raw: Path, out: Path) -> float:
    t0 = time.perf_counter()
    scrubber.trace(raw, out)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()

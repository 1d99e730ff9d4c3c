"""One Chromium per run, started on first use and closed when the run ends.

Starting Playwright's driver and a Chromium takes about a second, so every scenario of a run
shares one browser; each scenario gets its own fresh context (cookies, storage) instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from auditor.browser.locate import LAUNCH_ARGS, configured_chromium, find_chromium, installed
from auditor.cache import for_drivers
from auditor.errors import BrowserNotFound, InfrastructureError

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright

    from auditor.config import BrowserSettings

log = logging.getLogger("auditor.browser")


class SharedBrowser:
    """A Chromium launched lazily by the first `get()` and shared until `close()`."""

    def __init__(self, settings: BrowserSettings | None = None) -> None:
        from auditor.config import BrowserSettings

        self.settings = settings or BrowserSettings()
        self.launches = 0
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        # A browser that could not be found is not looked for again by every scenario of the run.
        self._failure: InfrastructureError | None = None

    async def get(self) -> Browser:
        """The run's browser, launched now if this is the first call."""
        async with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._browser is None or not self._browser.is_connected():
                try:
                    self._browser = await self._launch()
                except InfrastructureError as e:
                    self._failure = e
                    raise
            return self._browser

    def forget_failure(self) -> None:
        """Look for the browser again on the next `get()` (a long-lived worker's next run: a
        browser installed since, or one that failed to start once, is tried again)."""
        self._failure = None

    async def _launch(self) -> Browser:
        from playwright.async_api import Error, async_playwright

        # A configured browser that is missing fails before any driver is started. Otherwise the
        # driver this launch needs anyway says where Playwright's own Chromium is: asking a second,
        # synchronous driver (find_chromium's default) cost every run about 0.4 s.
        location = configured_chromium(self.settings.executable_path)
        if self._playwright is None:
            with for_drivers():
                self._playwright = await async_playwright().start()
        if location is None:
            chromium = self._playwright.chromium
            location = find_chromium(
                own=lambda: installed(chromium.executable_path), headless=self.settings.headless
            )
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=location.path,
                headless=self.settings.headless,
                args=[*LAUNCH_ARGS, *self.settings.extra_args],
            )
        except Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BrowserNotFound(
                f"could not start the browser at {location.path} ({location.source}): {first}\n"
                "Point browser.executable_path or $AUDITOR_CHROMIUM at a working Chromium, "
                "or run `.venv/bin/playwright install chromium`."
            ) from None
        self.launches += 1
        log.debug("launched %s (%s), version %s", location.path, location.source, browser.version)
        return browser

    async def close(self) -> None:
        """Close the browser and the driver; safe to call when nothing was launched."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            if browser is not None:
                await browser.close()
        finally:
            if playwright is not None:
                await playwright.stop()

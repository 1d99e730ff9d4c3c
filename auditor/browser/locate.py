"""Finding a Chromium to drive: the configured path, then Playwright's own, then a system one.

A headless run prefers a system *headless shell* (Debian's `chromium-headless-shell`, the build
Playwright itself runs headless) to a full Chromium: it starts in about half the CPU time of a full
Chromium (bench/scenario_overhead) and behaves the same for everything auditor drives. A headful
run (`browser.headless = false`) needs the full browser.

`python -m auditor.browser.locate` prints what was found (exit 0) or what to install (exit 1).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import BrowserNotFound

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# Chromium's headless shell, a binary of its own: headless only, and lighter.
HEADLESS_SHELL_NAMES = ("chromium-headless-shell", "chrome-headless-shell", "headless_shell")

# Flags that make Chromium behave in containers and closed networks: as root it needs
# --no-sandbox, and without the background-networking flags it keeps trying to reach Google.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

INSTALL_HINT = (
    "No Chromium was found. Install one of:\n"
    "  - Debian/Ubuntu: sudo apt-get install chromium   (or chromium-browser; for headless runs\n"
    "    chromium-headless-shell is lighter)\n"
    "  - Playwright's own build: .venv/bin/playwright install chromium\n"
    "  - or set browser.executable_path in auditor.toml / $AUDITOR_CHROMIUM to a Chrome or Chromium binary."
)


@dataclass(frozen=True)
class BrowserLocation:
    path: str
    source: str  # "configured", "playwright" or "system"


def playwright_chromium() -> str | None:
    """The path of Playwright's bundled Chromium, if it has been installed.

    This starts Playwright's driver (a Node process, about 0.4 s) just to ask it. A caller with a
    driver running already asks that one instead (`find_chromium(own=...)`, as
    `auditor.browser.launch` does). Inside a running asyncio loop the sync API cannot start: the
    answer is then None, as when the driver cannot start at all."""
    try:
        from playwright.sync_api import sync_playwright

        from auditor.cache import for_drivers

        with for_drivers(), sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        # The driver itself can fail to start (no node binary for this platform): no browser then.
        return None
    return installed(path)


def installed(path: str | None) -> str | None:
    """`path` (Playwright's idea of where its Chromium is) if that file exists."""
    return path if path and Path(path).is_file() else None


def configured_chromium(configured: str | None = None) -> BrowserLocation | None:
    """The browser set by `configured` or $AUDITOR_CHROMIUM; None when neither is set. Raises
    BrowserNotFound when the one set does not exist (no fallback: the setting was meant)."""
    configured = configured or os.environ.get("AUDITOR_CHROMIUM") or None
    if not configured:
        return None
    path = shutil.which(configured) or (configured if Path(configured).is_file() else None)
    if path is None:
        raise BrowserNotFound(
            f"the configured browser {configured!r} does not exist or is not executable.\n{INSTALL_HINT}"
        )
    return BrowserLocation(path, "configured")


def system_chromium(*, headless: bool = True) -> str | None:
    """The path of a Chromium on PATH: for a headless run a headless shell first, then a full one."""
    names = (*HEADLESS_SHELL_NAMES, *SYSTEM_NAMES) if headless else SYSTEM_NAMES
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_chromium(
    configured: str | None = None,
    *,
    own: Callable[[], str | None] = playwright_chromium,
    headless: bool = True,
) -> BrowserLocation:
    """The Chromium to launch (for a headless run unless `headless` is false); raises
    BrowserNotFound with what to install.

    `own()` says where Playwright's own Chromium is, None when it is not installed; by default a
    driver is started to ask (`playwright_chromium`)."""
    location = configured_chromium(configured)
    if location is not None:
        return location
    own_path = own()
    if own_path:
        return BrowserLocation(own_path, "playwright")
    path = system_chromium(headless=headless)
    if path:
        return BrowserLocation(path, "system")
    raise BrowserNotFound(INSTALL_HINT)


def check_chromium(
    configured: str | None = None, *, own: Callable[[], str | None] | None = None, headless: bool = True
) -> None:
    """Raise BrowserNotFound (with what to install) unless some Chromium can be driven.

    The same answer as `find_chromium`, cheaper when only "is there one?" is asked (`auditor demo`
    before it starts): a system Chromium is looked for before a driver is started to ask about
    Playwright's own (about 0.4 s)."""
    if configured_chromium(configured) is not None:
        return
    if system_chromium(headless=headless):
        return
    if (own or playwright_chromium)():
        return
    raise BrowserNotFound(INSTALL_HINT)


def main() -> int:
    try:
        loc = find_chromium()
    except BrowserNotFound as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{loc.path} ({loc.source})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a run's browser launch costs: one Playwright driver, not two (bench/scenario_overhead)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.browser import launch, locate
from auditor.browser.launch import SharedBrowser
from auditor.errors import BrowserNotFound


def _no_second_driver() -> str | None:
    raise AssertionError("a second, synchronous Playwright driver was started to find the browser")


async def test_the_launch_finds_the_browser_through_the_driver_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    monkeypatch.setattr(locate, "playwright_chromium", _no_second_driver)
    # find_chromium's default is bound at definition: the launch must pass its own lookup.
    monkeypatch.setattr(
        launch,
        "find_chromium",
        lambda configured=None, *, own=_no_second_driver, headless=True: locate.find_chromium(
            configured, own=own, headless=headless
        ),
    )
    shared = SharedBrowser()
    try:
        browser = await shared.get()
        assert browser.is_connected()
    finally:
        await shared.close()


async def test_a_missing_configured_browser_fails_before_any_driver_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUDITOR_CHROMIUM", str(tmp_path / "no-chromium"))

    def no_driver() -> None:
        raise AssertionError("the driver was started for a browser that is not there")

    monkeypatch.setattr("playwright.async_api.async_playwright", no_driver)
    shared = SharedBrowser()
    with pytest.raises(BrowserNotFound, match="no-chromium"):
        await shared.get()
    await shared.close()


def test_find_chromium_asks_the_given_lookup_for_playwrights_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    own = tmp_path / "chrome"
    own.write_text("")
    assert locate.find_chromium(own=lambda: locate.installed(str(own))) == locate.BrowserLocation(
        str(own), "playwright"
    )
    # Not installed: the system's, as before.
    found = locate.find_chromium(own=lambda: locate.installed(str(tmp_path / "missing")))
    assert found.source != "playwright"


@pytest.mark.parametrize("headless", [True, False])
async def test_the_launch_asks_for_a_browser_that_can_run_as_configured(
    monkeypatch: pytest.MonkeyPatch, headless: bool
) -> None:
    """A headful run must not get the headless shell: the launch passes `browser.headless` on."""
    from auditor.config import BrowserSettings

    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    asked: list[bool] = []

    def lookup(configured: str | None = None, *, own: object = None, headless: bool = True) -> None:
        asked.append(headless)
        raise BrowserNotFound("stop here")

    monkeypatch.setattr(launch, "find_chromium", lookup)
    shared = SharedBrowser(BrowserSettings(headless=headless))
    with pytest.raises(BrowserNotFound, match="stop here"):
        await shared.get()
    await shared.close()
    assert asked == [headless]


async def test_the_driver_keeps_its_compiled_code_in_the_users_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Node's compile cache, in auditor's cache folder: the real driver writes it on its first start
    (the next start loads it: bench/scenario_overhead)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("NODE_COMPILE_CACHE", "")  # so that the teardown restores what was there
    monkeypatch.delenv("NODE_COMPILE_CACHE")
    shared = SharedBrowser()
    try:
        await shared.get()
    finally:
        await shared.close()
    folder = tmp_path / "auditor" / "node"
    assert any(p.is_file() and p.stat().st_size > 0 for p in folder.rglob("*"))
    assert "NODE_COMPILE_CACHE" not in os.environ  # set for the driver's start only

"""`auditor demo` asks only "is there a Chromium?" before it starts: a system one answers that
without starting Playwright's driver (about 0.4 s); the answer is the same as `find_chromium`'s."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.browser import locate
from auditor.demo.audit import browser_problem
from auditor.errors import BrowserNotFound


def _no_driver() -> str | None:
    raise AssertionError("a Playwright driver was started although a system Chromium is there")


def _path_with(tmp_path: Path, *names: str) -> str:
    """A PATH of one folder holding an executable of each of `names` (none: an empty folder)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name in names:
        exe = folder / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    return str(folder)


def test_a_system_chromium_answers_without_a_driver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", _path_with(tmp_path, "chromium"))
    locate.check_chromium(own=_no_driver)
    # find_chromium asks the driver first (Playwright's own is preferred when both are there).
    assert locate.find_chromium(own=lambda: None).source == "system"


def test_without_a_system_one_playwrights_own_is_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", _path_with(tmp_path))
    asked: list[bool] = []

    def own() -> str | None:
        asked.append(True)
        return "/opt/ms-playwright/chromium/chrome"

    locate.check_chromium(own=own)
    assert asked == [True]


def test_no_browser_at_all_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", _path_with(tmp_path))
    with pytest.raises(BrowserNotFound, match="apt-get install chromium"):
        locate.check_chromium(own=lambda: None)
    monkeypatch.setattr(locate, "playwright_chromium", lambda: None)
    problem = browser_problem()
    assert problem is not None and "No Chromium was found" in problem


def test_a_configured_browser_that_is_missing_is_never_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUDITOR_CHROMIUM", str(tmp_path / "no-such-chrome"))
    monkeypatch.setenv("PATH", _path_with(tmp_path, "chromium") + os.pathsep + os.environ.get("PATH", ""))
    with pytest.raises(BrowserNotFound, match="no-such-chrome"):
        locate.check_chromium(own=_no_driver)


@pytest.mark.parametrize("shell", locate.HEADLESS_SHELL_NAMES)
def test_a_headless_run_prefers_the_headless_shell_and_a_headful_one_the_full_browser(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shell: str
) -> None:
    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    folder = _path_with(tmp_path, "chromium", shell)
    monkeypatch.setenv("PATH", folder)
    assert locate.find_chromium(own=lambda: None) == locate.BrowserLocation(f"{folder}/{shell}", "system")
    assert locate.find_chromium(own=lambda: None, headless=False) == locate.BrowserLocation(
        f"{folder}/chromium", "system"
    )
    # Playwright's own build and a configured browser still come first.
    assert locate.find_chromium(own=lambda: "/opt/pw/chrome").source == "playwright"
    monkeypatch.setenv("AUDITOR_CHROMIUM", f"{folder}/chromium")
    assert locate.find_chromium(own=_no_driver).path == f"{folder}/chromium"


def test_a_headless_shell_alone_serves_only_headless_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AUDITOR_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", _path_with(tmp_path, "chromium-headless-shell"))
    locate.check_chromium(own=_no_driver)
    assert locate.find_chromium(own=lambda: None).path.endswith("/chromium-headless-shell")
    with pytest.raises(BrowserNotFound, match="apt-get install chromium"):
        locate.check_chromium(own=lambda: None, headless=False)
    with pytest.raises(BrowserNotFound, match="No Chromium was found"):
        locate.find_chromium(own=lambda: None, headless=False)

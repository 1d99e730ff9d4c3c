"""Showing a run while it goes: a live display on a terminal, plain throttled lines elsewhere (CI)."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from auditor.results import CheckResult, RunResult

if TYPE_CHECKING:
    # Imported by LiveProgress only: a run off a terminal (CI, --quiet, a pipe) never needs rich,
    # about 35 ms of imports.
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

PLAIN_INTERVAL_S = 10.0


def _counters(counters: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in counters.items())


def _finished(result: CheckResult) -> str:
    n = len(result.findings)
    what = f", {n} finding(s)" if n else ""
    msg = f" ({result.message})" if result.message else ""
    return f"{result.derived_status()} in {result.duration_s:.1f} s{what}{msg}"


class PlainProgress:
    """One line per event; counters at most every PLAIN_INTERVAL_S per check, so CI logs stay short."""

    def __init__(self, stream: TextIO | None = None, interval_s: float = PLAIN_INTERVAL_S) -> None:
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self._last: dict[str, float] = {}

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def run_started(self, run: RunResult, checks: list[str]) -> None:
        self._say(f"auditor: run {run.id}: audit {run.audit!r} on {run.base_url} ({', '.join(checks)})")

    def check_started(self, name: str, kind: str) -> None:
        self._last[name] = time.monotonic()
        self._say(f"[{name}] started ({kind})")

    def check_progress(self, name: str, counters: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self._last.get(name, 0.0) >= self.interval_s:
            self._last[name] = now
            self._say(f"[{name}] {_counters(counters)}")

    def check_finished(self, result: CheckResult) -> None:
        self._say(f"[{result.name}] {_finished(result)}")

    def run_finished(self, run: RunResult) -> None:
        pass


class LiveProgress:
    """A table of checks with their live counters, redrawn in place on a terminal."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._rows: dict[str, list[str]] = {}
        self._live: Live | None = None
        self._title = ""

    def _table(self) -> Table:
        from rich.table import Table

        t = Table(title=self._title, title_justify="left", expand=False)
        for col in ("check", "status", "progress"):
            t.add_column(col)
        for name, (status, detail) in self._rows.items():
            t.add_row(name, status, detail)
        return t

    def _refresh(self) -> None:
        if self._live:
            self._live.update(self._table())

    def run_started(self, run: RunResult, checks: list[str]) -> None:
        from rich.live import Live

        self._title = f"run {run.id}: {run.audit} on {run.base_url}"
        self._rows = {c: ["waiting", ""] for c in checks}
        self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
        self._live.start()

    def check_started(self, name: str, kind: str) -> None:
        self._rows[name] = ["running", kind]
        self._refresh()

    def check_progress(self, name: str, counters: dict[str, Any]) -> None:
        self._rows[name] = ["running", _counters(counters)]
        self._refresh()

    def check_finished(self, result: CheckResult) -> None:
        self._rows[result.name] = [str(result.derived_status()), _finished(result)]
        self._refresh()

    def run_finished(self, run: RunResult) -> None:
        if self._live:
            self._live.stop()
            self._live = None


def for_stream(stream: TextIO | None = None) -> PlainProgress | LiveProgress:
    """A live display when `stream` is a terminal (and not in CI), plain lines otherwise."""
    s = stream or sys.stderr
    if s.isatty() and not os.environ.get("CI"):
        return LiveProgress()
    return PlainProgress(s)

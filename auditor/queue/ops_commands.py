"""`auditor workers`: the worker processes the shared store knows, and what each is running.

Imports stay inside the functions: `auditor crawl` must not pay for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DATABASE_HELP = "the shared results database (default: the config's database_url, or $AUDITOR_DATABASE_URL)"
# Without a config's [queue]: a worker beats every 10 s and is lost after three missed beats.
DEFAULT_LIVE_S = 30.0


def _ago(then: datetime, now: datetime) -> str:
    s = max(0, int((now - then).total_seconds()))
    if s < 120:
        return f"{s}s ago"
    if s < 7200:
        return f"{s // 60}m ago"
    return f"{s // 3600}h ago"


def _live_window(config: str | Path) -> float:
    from auditor import config as config_mod

    if not Path(config).exists():
        return DEFAULT_LIVE_S
    queue = config_mod.load(config).model.queue
    return queue.stale_after() if queue is not None else DEFAULT_LIVE_S


def cmd_workers(args: argparse.Namespace) -> int:
    from auditor.app import database_url_for
    from auditor.queue.state import QueueState
    from auditor.store import Store

    window = _live_window(args.config)
    store = Store.open(database_url_for(args.config, args.database_url))
    try:
        workers = QueueState(store).workers(None if args.all else window)
    finally:
        store.close()
    now = datetime.now(UTC)
    if args.json:
        rows = [
            {
                "name": w.name,
                "hostname": w.hostname,
                "pid": w.pid,
                "state": w.state,
                "started_at": w.started_at.isoformat(),
                "last_seen_at": w.last_seen_at.isoformat(),
                "live": w.state not in ("stopped", "lost")
                and (now - w.last_seen_at).total_seconds() <= window,
                "run_id": w.run_id,
                "audit": w.audit,
                "site": w.site,
            }
            for w in workers
        ]
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    if not workers:
        which = (
            "no worker processes are recorded"
            if args.all
            else f"no worker has beaten in the last {window:g} s"
        )
        print(f"{which}; start one with `auditor worker --config auditor.toml`")
        return 0
    header = ("WORKER", "STATE", "SINCE", "LAST SEEN", "RUNNING")
    table = [header]
    for w in workers:
        doing = f"{w.audit} on {w.site} (run {w.run_id})" if w.run_id else "-"
        table.append(
            (w.name, w.state, w.started_at.strftime("%Y-%m-%d %H:%M"), _ago(w.last_seen_at, now), doing)
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
            + "  "
            + row[-1]
        )
    return 0


def add_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `auditor workers`."""
    p = command(
        sub,
        "workers",
        "list the live worker processes and what each runs",
        """Reads the shared store (the database every worker writes its heartbeat to): one line per
        worker process (each prefork child, and each worker's main process) with its state, when it
        started, its last heartbeat, and the audit, site and run it is running. Only workers that
        beat within [queue] stale_after_s are shown, unless --all.""",
        [
            "auditor workers",
            "auditor workers --all",
            "auditor workers --json --database-url postgresql://...",
        ],
    )
    p.add_argument("--all", action="store_true", help="also the workers that stopped or were lost")
    p.add_argument("--json", action="store_true", help="JSON on stdout, one object per worker process")
    p.add_argument("--database-url", metavar="URL", help=DATABASE_HELP)
    p.set_defaults(func=cmd_workers)

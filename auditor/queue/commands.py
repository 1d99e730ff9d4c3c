"""`auditor worker`: take audits off the `[queue]` broker and run them (auditor.queue.worker).

Imports stay inside the functions: `auditor crawl` must not pay for Celery.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port}: a port is 0 to 65535 (0 picks a free one)")
    return port


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: at least one process")
    return n


def cmd_worker(args: argparse.Namespace) -> int:
    from auditor import config as config_mod
    from auditor.app import redact_logs
    from auditor.errors import UsageError
    from auditor.queue.worker import serve

    path = Path(args.config)
    if not path.exists():
        raise UsageError(
            f"no config at {path}: a worker reads its sites, audits and [queue] from it (--config)"
        )
    settings = config_mod.load(path)
    if settings.model.queue is None:
        raise UsageError(
            f"{path} has no [queue] section: a worker takes its audits from a broker; add\n"
            '  [queue]\n  broker_url = "redis://127.0.0.1:6379/0"   # or amqp://guest:guest@127.0.0.1:5672//\n'
            "(without a queue, `auditor schedule` and `auditor run` run audits on this machine)"
        )
    redact_logs(settings)
    return serve(
        settings,
        config_path=path,
        concurrency=args.concurrency,
        health_port=args.health_port,
        health_host=args.health_host,
        loglevel=args.loglevel,
    )


def add_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `auditor worker`."""
    p = command(
        sub,
        "worker",
        "run queued audits: a Celery worker on the config's [queue] broker",
        """Takes audits off the broker in [queue] (Redis or RabbitMQ) and runs each in one of N
        processes, recording it in the shared database (database_url, PostgreSQL for more than
        one machine). Each process keeps one browser; every scenario gets a fresh context.
        `auditor schedule` and `auditor run AUDIT --queue` put the audits on the queue; `auditor
        workers` lists the live worker processes. SIGTERM stops taking tasks and gives a running
        audit [queue] stop_timeout_s to finish before it is interrupted.""",
        [
            "auditor worker --config auditor.toml",
            "auditor worker --concurrency 4 --health-port 9101",
        ],
    )
    p.add_argument(
        "--concurrency",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes, each running one audit at a time (default: one per CPU)",
    )
    p.add_argument(
        "--health-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="serve /healthz (200 while alive) and /metrics (Prometheus) on this port (0: a free one)",
    )
    p.add_argument(
        "--health-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address the health port listens on (default 127.0.0.1; 0.0.0.0 for a container)",
    )
    p.add_argument(
        "--loglevel",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much the worker logs (default INFO: one line per task)",
    )
    p.set_defaults(func=cmd_worker)

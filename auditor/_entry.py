"""The `auditor` command's entry point: what must start before the command line's imports.

An `auditor crawl` that records its run starts its database's process first
(`auditor.store.remote`): it imports SQLAlchemy on the other core while this one imports the CLI,
the configuration models and the crawler, about 0.25 s of start-up that no longer waits in line.
"""

from __future__ import annotations

import sys


def main() -> int:
    if _records_a_crawl(sys.argv[1:]):
        from auditor.store import remote

        remote.prewarm()
    from auditor.cli import main as cli_main

    try:
        return cli_main()
    finally:
        from auditor.store import remote

        remote.discard_prewarmed()


def _records_a_crawl(argv: list[str]) -> bool:
    from auditor.store.remote import records_a_crawl

    return records_a_crawl(argv)

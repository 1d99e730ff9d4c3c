"""The `auditor` command's entry point: what must start before the command line's imports.

An `auditor crawl` that records its run starts its database's process first
(`auditor.store.remote`): it imports SQLAlchemy on the other core while this one imports the CLI,
the configuration models and the crawler, about 0.25 s of start-up that no longer waits in line.
Deciding that costs nothing: this module imports only `os` and `sys`, for every command.
"""

from __future__ import annotations

import os
import sys

# Set to 0 to open the database in the command's own process (what every other command does).
ENV_SWITCH = "AUDITOR_STORE_PROCESS"
# Options of the top-level parser that take a value (the subcommand comes after them).
_GLOBAL_VALUED = frozenset({"--config", "-c"})


def main() -> int:
    if sys.argv[1:] == ["--version"]:
        # The one answer that needs nothing else: not the CLI nor pydantic (0.27 s to print a line).
        import auditor

        print(f"auditor {auditor.__version__}")
        return 0
    crawl = records_a_crawl(sys.argv[1:])
    if crawl:
        from auditor.store import remote

        remote.prewarm()
    from auditor.cli import main as cli_main

    try:
        return cli_main()
    finally:
        if crawl:
            from auditor.store import remote

            remote.discard_prewarmed()


def records_a_crawl(argv: list[str]) -> bool:
    """Whether the command line `argv` (without the program) is an `auditor crawl` that records."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return False
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_VALUED:
            next(words, None)
        elif word.startswith("-"):
            continue
        else:
            return word == "crawl" and not {"--no-database", "-h", "--help"} & set(argv)
    return False

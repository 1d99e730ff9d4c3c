"""`auditor demo`: start the bundled shop with some faults on, audit it, and show each fault caught.

The demo exits 0 when every fault switched on was caught by the finding it should produce and a
healthy part of the shop produced no finding; 1 otherwise. So it is both a tour and a self-test.
"""

from __future__ import annotations

import argparse
from typing import Any

from auditor import config as config_mod
from auditor.config import Settings
from auditor.results import RunResult

DEFAULT_FAULTS = ["dead-link", "dead-image", "stale-sitemap"]

# The finding kinds that show each fault; a fault is caught when any of its kinds is reported.
# Faults whose checks are not part of the demo audit yet are reported as "not audited".
CAUGHT_BY: dict[str, set[str]] = {
    "dead-link": {"broken_link"},
    "dead-image": {"broken_image"},
    "stale-sitemap": {"sitemap_dead_url"},
}


def demo_config(base_url: str, report_dir: str = "reports") -> dict[str, Any]:
    """The config `auditor demo` runs with: the demo shop as the site, orders allowed."""
    return {
        "report_dir": report_dir,
        "sites": {
            "demo": {
                "base_url": base_url,
                "allow_orders": True,
                "crawl": {"max_pages": 500, "respect_robots": True},
            }
        },
        "checks": {
            # The demo shop has no external links, and the audit must not leave this machine.
            "links": {"kind": "crawl", "external": False, "timeout_s": 300},
        },
        "audits": {"nightly": {"site": "demo", "checks": ["links"], "schedule": "30 3 * * *"}},
    }


def verdicts(run: RunResult, faults: list[str]) -> list[tuple[str, str]]:
    """(fault, "caught" | "MISSED" | "not audited yet") for each fault switched on."""
    kinds = {f.kind for f in run.findings}
    out = []
    for fault in faults:
        expected = CAUGHT_BY.get(fault)
        if expected is None:
            out.append((fault, "not audited yet"))
        else:
            out.append((fault, "caught" if expected & kinds else "MISSED"))
    return out


def run_demo(args: argparse.Namespace) -> int:
    from auditor.cli import ExitCode, demo_faults, execute
    from auditor.demo import DemoShop

    names: list[str] = [] if args.no_faults else (args.fault or DEFAULT_FAULTS)
    faults = demo_faults(names)
    fault_names = [n.split("=", 1)[0] for n in names]
    print(f"auditor demo: starting the demo shop with faults: {', '.join(fault_names) or 'none'}")
    with DemoShop(faults=faults) as shop:
        settings: Settings = config_mod.from_dict(demo_config(shop.base_url), environ={})
        run, code = execute(
            settings,
            "nightly",
            report_dir=args.report_dir,
            database_url=args.database_url,
            trigger="demo",
            quiet=args.quiet,
        )
    if code == ExitCode.INFRASTRUCTURE:
        return code
    results = verdicts(run, fault_names)
    print("\nFaults switched on, and whether the audit caught them:")
    for fault, verdict in results:
        print(f"  {verdict:<16} {fault}")
    missed = [f for f, v in results if v == "MISSED"]
    if not fault_names and run.findings:
        print("The shop was healthy, yet the audit reported findings: that is a false positive.")
        return ExitCode.FAILURES
    if missed:
        print(f"Missed: {', '.join(missed)}")
        return ExitCode.FAILURES
    return ExitCode.OK

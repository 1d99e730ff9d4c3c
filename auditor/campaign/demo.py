"""`auditor demo --audit campaign`: the demo shop's spring sale checked by the campaign check.

The healthy shop gives no finding; each campaign fault (`utm-stripped`, `coupon-expired`,
`landing-noindex`) is caught by its own finding (see CAUGHT_BY in auditor/demo/audit.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

CAMPAIGN_FILE = Path(__file__).parent.parent / "demo" / "campaigns" / "spring-sale.eml"
EMAIL_ORIGIN = "https://harborandpine.example"
# The faults this audit is about; the others are the full demo's.
FAULTS = ("utm-stripped", "coupon-expired", "landing-noindex")


def campaign_options() -> dict[str, Any]:
    """The spring campaign as a campaign check's options (paths on the demo shop)."""
    return {
        "kind": "campaign",
        "landing_urls": [
            "/go/spring?utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale&gclid=demo123"
        ],
        # Reached from ads and the newsletter only: neither linked nor in the sitemap.
        "reachable": False,
        "expected_price": "19.20",
        "coupon": {
            "code": "SPRING20",
            "product_path": "/products/canvas-tote-bag",
            "expected_discount": "20%",
        },
        "email": str(CAMPAIGN_FILE),
        "email_origin": EMAIL_ORIGIN,
        "words": ["Harbor", "Pine"],
        "timeout_s": 180,
        "description": "the spring sale: landing page, SPRING20 and its email",
    }


def campaign_config(base_url: str, report_dir: str = "reports") -> dict[str, Any]:
    return {
        "report_dir": report_dir,
        "sites": {"demo": {"base_url": base_url, "crawl": {"max_pages": 50}}},
        "checks": {"spring-campaign": campaign_options()},
        "audits": {"campaign": {"site": "demo", "checks": ["spring-campaign"]}},
    }


def run_campaign_demo(args: argparse.Namespace) -> int:
    from auditor import config as config_mod
    from auditor.app import ExitCode, demo_faults
    from auditor.app import run_in_terminal as execute
    from auditor.demo import DemoShop
    from auditor.demo.audit import browser_problem, verdicts

    names: list[str] = (
        [] if args.no_faults else (args.fault or ["utm-stripped", "coupon-expired", "landing-noindex"])
    )
    faults = demo_faults(names)
    fault_names = [n.split("=", 1)[0] for n in names]
    print(
        "auditor demo --audit campaign: starting the demo shop with faults: "
        f"{', '.join(fault_names) or 'none'}"
    )
    problem = browser_problem()
    if problem:
        print(f"auditor demo: the campaign audit needs a browser: {problem}")
        return ExitCode.INFRASTRUCTURE
    with DemoShop(faults=faults) as shop:
        settings = config_mod.from_dict(campaign_config(shop.base_url), environ={})
        run, code = execute(
            settings,
            "campaign",
            report_dir=args.report_dir,
            database_url=args.database_url,
            trigger="demo",
            quiet=args.quiet,
        )
    if code == ExitCode.INFRASTRUCTURE:
        return code
    results = verdicts(run, fault_names)
    print("\nFaults switched on, and whether the campaign audit caught them:")
    for fault, verdict in results:
        print(f"  {verdict:<16} {fault}")
    if not fault_names and run.findings:
        print("The shop was healthy, yet the audit reported findings: that is a false positive.")
        return ExitCode.FAILURES
    missed = [f for f, v in results if v == "MISSED"]
    if missed:
        print(f"Missed: {', '.join(missed)}")
        return ExitCode.FAILURES
    return ExitCode.OK

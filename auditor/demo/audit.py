"""`auditor demo`: start the bundled shop with some faults on, audit it, and show each fault caught.

The demo exits 0 when every fault switched on was caught by the finding it should produce and a
healthy part of the shop produced no finding; 1 otherwise. So it is both a tour and a self-test.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

from auditor import config as config_mod
from auditor.config import Settings
from auditor.results import RunResult

# What `make demo` switches on: one fault from each part of the mission (the crawl, the email, the
# payment, the contact form, a failed scenario), none of which hides another. The thank-you page's
# dead link fails the checkout after it paid, so the report shows a failed scenario's screenshot
# and trace, and the confirmation email (with its merge tag) is still read.
DEFAULT_FAULTS = ["dead-link", "merge-tag", "double-submit", "no-autoresponse", "thank-you-dead-link"]

# The finding kinds that show each fault; a fault is caught when any of its kinds is reported.
CAUGHT_BY: dict[str, set[str]] = {
    "dead-link": {"broken_link"},
    "dead-image": {"broken_image"},
    "stale-sitemap": {"sitemap_dead_url"},
    "checkout-error": {"scenario_failed"},
    "thank-you-dead-link": {"scenario_failed"},
    "js-error": {"scenario_failed"},
    "declined-after-charge": {"charged_but_declined"},
    "double-submit": {"double_charge"},
    "no-email": {"email_missing"},
    "slow-email": {"email_late"},
    "duplicate-email": {"email_duplicate"},
    "merge-tag": {"email_merge_tag"},
    "email-dead-link": {"email_broken_link"},
    "dead-download": {"delivery_link_broken"},
    "login-broken": {"login_failed"},
    "no-autoresponse": {"autoresponse_missing"},
    # 45 s by default: longer than a step may take, so the pay step fails (the charge is still made).
    "slow-gateway": {"scenario_failed"},
    # `auditor demo --audit campaign` (the campaign check of the spring sale) catches these.
    "utm-stripped": {"tracking_params_lost"},
    "coupon-expired": {"coupon_rejected"},
    "landing-noindex": {"landing_page_noindex"},
    # Only the rendered crawl (the `links` check renders in Chromium) sees these two.
    "js-dead-link": {"broken_link"},
    "third-party-script-error": {"page_script_error"},
}

# The demo shop sends mail at once (or after `slow-email` seconds, 10 by default), so the email
# limits are seconds rather than the minutes a real shop needs. The soft limit leaves a healthy
# shop's mail 6 s: on a busy machine (load 20 and more) mail sent at once took more than 3 s, and
# the healthy demo reported `email_late`; the fault's 10 s is still late, and not missing.
_EMAIL_LIMITS = {"deadline_s": 25, "soft_limit_s": 6, "hard_limit_s": 20, "settle_s": 2}


def _scenario(name: str, description: str) -> dict[str, Any]:
    return {
        "kind": "scenario",
        "scenario": name,
        "paths": ["bundled"],
        "timeout_s": 120,
        "description": description,
    }


def demo_config(base_url: str, report_dir: str = "reports", smtp_port: int = 8025) -> dict[str, Any]:
    """The config `auditor demo` runs with (and `auditor init --demo` writes).

    The site is the demo shop, orders are allowed, and its emails go to auditor's SMTP sink on
    `smtp_port` (the port the shop sends to). Audits: `nightly` runs everything; `gate` is what a
    deploy pipeline needs to block on: internal links, the checkout and its confirmation email.
    """
    checks: dict[str, dict[str, Any]] = {
        # The demo shop has no external links, and the audit must not leave this machine.
        "links": {
            "kind": "crawl",
            "external": False,
            "timeout_s": 300,
            "description": "dead links, images, sitemap; pages rendered in Chromium",
            # The shop fills a product grid with JavaScript and loads a third party's script.
            "render": True,
        },
        "checkout": _scenario("guest-checkout", "a guest buys the e-book and creates an account"),
        "decline-then-approve": _scenario("decline-then-approve", "a declined card, then the good one"),
        "double-click": _scenario("double-click-pay", "the pay button clicked twice"),
        "contact": _scenario("contact-form", "the contact form"),
        "newsletter-signup": _scenario("newsletter-signup", "the newsletter signup"),
        # Download links are the delivery check's: it knows they must answer with a file.
        "confirmation-email": {
            "kind": "email",
            "needs": ["checkout"],
            "ignore_links": ["/download/"],
            **_EMAIL_LIMITS,
        },
        "account-login": {
            "kind": "login",
            "needs": ["checkout"],
            "scenario": "demo-login",
            "paths": ["bundled"],
        },
        "downloads": {"kind": "delivery", "needs": ["checkout", "confirmation-email", "account-login"]},
        "payment": {"kind": "payment", "needs": ["checkout", "decline-then-approve", "double-click"]},
        # The demo shop mails at once: 10 s leaves a loaded machine room, and a default demo (with
        # `no-autoresponse`) waits that long, not 20 s, before saying the auto-response is missing.
        "contact-autoresponse": {
            "kind": "contact-form",
            "needs": ["contact"],
            "limit_s": 8,
            "deadline_s": 10,
        },
        "newsletter-optin": {
            "kind": "newsletter",
            "needs": ["newsletter-signup"],
            "limit_s": 8,
            "deadline_s": 10,
        },
    }
    return {
        "report_dir": report_dir,
        "sites": {
            "demo": {
                "base_url": base_url,
                "allow_orders": True,
                "crawl": {"max_pages": 500, "respect_robots": True},
                "mailbox": {"kind": "sink", "host": "127.0.0.1", "port": smtp_port},
            }
        },
        "checks": checks,
        "audits": {
            "nightly": {"site": "demo", "checks": list(checks), "schedule": "30 3 * * *"},
            "gate": {"site": "demo", "checks": ["links", "checkout", "confirmation-email"]},
        },
    }


# What the crawl alone catches: all the demo can check without a browser.
CRAWL_KINDS = {"broken_link", "broken_image", "sitemap_dead_url"}
NOT_CHECKED = "not checked (no browser)"
# Faults only the rendered crawl sees (their finding kinds are the crawl's, but not its HTTP half's).
RENDERED_ONLY = {"js-dead-link", "third-party-script-error"}


def verdicts(run: RunResult, faults: list[str], *, browser: bool = True) -> list[tuple[str, str]]:
    """(fault, "caught" | "MISSED" | "not audited yet" | NOT_CHECKED) for each fault switched on.

    Without a browser only the crawl ran: a fault only a scenario can show was not checked, which
    is not the same as missed."""
    kinds = {f.kind for f in run.findings}
    out = []
    for fault in faults:
        expected = CAUGHT_BY.get(fault)
        if expected is None:
            out.append((fault, "not audited yet"))
        elif not browser and (fault in RENDERED_ONLY or not expected <= CRAWL_KINDS):
            out.append((fault, NOT_CHECKED))
        else:
            out.append((fault, "caught" if expected & kinds else "MISSED"))
    return out


def browser_problem() -> str | None:
    """Why no browser can be driven (the locator's install hint), or None when one is there."""
    from auditor.browser.locate import check_chromium
    from auditor.errors import BrowserNotFound

    try:
        check_chromium()
    except BrowserNotFound as e:
        return str(e)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for the run's mail sink)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_demo(args: argparse.Namespace) -> int:
    from auditor.app import ExitCode, demo_faults
    from auditor.app import run_in_terminal as execute
    from auditor.demo import DemoShop

    if getattr(args, "audit", "full") == "campaign":
        from auditor.campaign.demo import run_campaign_demo

        return run_campaign_demo(args)
    names: list[str] = [] if args.no_faults else (args.fault or DEFAULT_FAULTS)
    faults = demo_faults(names)
    fault_names = [n.split("=", 1)[0] for n in names]
    print(f"auditor demo: starting the demo shop with faults: {', '.join(fault_names) or 'none'}")
    problem = browser_problem()
    if problem:
        # Said once, here: the scenario checks that need the browser are left out of the audit.
        print(
            f"auditor demo: could not check the checkout, emails, login and payments: {problem}\n"
            "Only the crawl runs now; install a browser and run `auditor demo` again.",
            file=sys.stderr,
        )
    smtp_port = free_port()
    with DemoShop(faults=faults, smtp_port=smtp_port) as shop:
        config = demo_config(shop.base_url, smtp_port=smtp_port)
        if problem:
            config["audits"]["nightly"]["checks"] = ["links"]
            config["checks"]["links"]["render"] = False
        settings: Settings = config_mod.from_dict(config, environ={})
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
    results = verdicts(run, fault_names, browser=not problem)
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
    if problem:
        print("Could not check everything: no browser (see the hint above). Exit code 3.")
        return ExitCode.INFRASTRUCTURE
    return ExitCode.OK

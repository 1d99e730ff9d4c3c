"""Fixtures for report tests: a finished run with every kind of check outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.results import Artifact, CheckResult, Finding, RunResult, Severity, Status

from .runs import BASE, broken_link, make_run


@pytest.fixture
def mixed_run(tmp_path: Path) -> RunResult:
    """A run with a crawl that found errors and warnings, a failed checkout, a skip and an error."""
    shot = tmp_path / "reports" / "run-1" / "checkout" / "failure.png"
    shot.parent.mkdir(parents=True)
    shot.write_bytes(b"\x89PNG\r\n\x1a\n")
    crawl = CheckResult(
        name="crawl",
        kind="crawl",
        stats={"pages": 120, "links": 3400},
        duration_s=12.5,
        findings=[
            broken_link(f"{BASE}/img/logo.png", [f"{BASE}/", f"{BASE}/about"]),
            broken_link(f"{BASE}/old", [f"{BASE}/blog"], 410, "410 Gone"),
            Finding(
                kind="missing_fragment",
                severity=Severity.ERROR,
                url=f"{BASE}/faq#shipping",
                message="No element with id 'shipping'",
                source=f"{BASE}/help",
            ),
            Finding(
                kind="redirect_chain",
                severity=Severity.WARNING,
                url=f"{BASE}/a",
                message="3 redirects before the page",
                source=f"{BASE}/",
                evidence={"redirects": [f"{BASE}/a", f"{BASE}/b", f"{BASE}/c"]},
            ),
        ],
    )
    checkout = CheckResult(
        name="guest-checkout",
        kind="scenario",
        duration_s=8.0,
        findings=[
            Finding(
                kind="scenario_failed",
                severity=Severity.ERROR,
                url=f"{BASE}/checkout",
                message="The pay button never became enabled",
                evidence={"step": "submit payment", "final_url": f"{BASE}/checkout"},
            )
        ],
        artifacts=[
            Artifact("failure screenshot", shot, "screenshot"),
            Artifact("trace", shot.parent / "trace.zip", "trace"),
        ],
    )
    email = CheckResult(name="order-email", kind="email", status=Status.SKIP, message="needs guest-checkout")
    ledger = CheckResult(name="payment", kind="payment", status=Status.ERROR, message="ledger timed out")
    sitemap = CheckResult(name="sitemap", kind="sitemap", duration_s=0.4)
    run = make_run([sitemap, crawl, checkout, email, ledger])
    run.report_dir = tmp_path / "reports" / "run-1"
    return run

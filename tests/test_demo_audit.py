"""`auditor demo`, the main job: the bundled shop, audited, each switched-on fault caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "-q", "--report-dir", "out", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "CI": "true"},
    )


def findings(cwd: Path) -> set[tuple[str, str]]:
    report = json.loads((cwd / "out" / "report.json").read_text())
    return {(f["kind"], f["url"].split("/", 3)[3]) for f in report["findings"]}


def test_the_healthy_demo_shop_gives_no_finding(tmp_path: Path) -> None:
    result = demo("--no-faults", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert findings(tmp_path) == set()
    assert (tmp_path / "auditor.db").exists()


def test_the_default_demo_catches_every_fault_it_switches_on(tmp_path: Path) -> None:
    result = demo(cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for fault in ("dead-link", "dead-image", "stale-sitemap"):
        assert f"caught           {fault}" in result.stdout
    assert findings(tmp_path) == {
        ("broken_link", "shipping-policy"),
        ("broken_image", "static/images/tote-v2.svg"),
        ("broken_image", "static/images/tote-v2-sm.svg"),
        ("sitemap_dead_url", "products/summer-sale-bundle"),
        ("sitemap_missing_page", "contact"),
    }


def test_an_unknown_fault_is_a_usage_error_that_lists_the_known_ones(tmp_path: Path) -> None:
    result = demo("--fault", "nonsense", cwd=tmp_path)
    assert result.returncode == 2
    assert "nonsense" in result.stderr and "dead-link" in result.stderr


def test_a_fault_no_check_of_the_demo_audit_can_see_is_not_audited_yet_not_missed(tmp_path: Path) -> None:
    # The thank-you page is reached only by a purchase, which the crawl never makes.
    result = demo("--fault", "thank-you-dead-link", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not audited yet  thank-you-dead-link" in result.stdout
    assert "MISSED" not in result.stdout

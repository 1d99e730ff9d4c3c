"""`auditor demo`, the main job: the bundled shop, audited end to end, each switched-on fault caught
by exactly the finding it should produce, and a healthy shop with no finding at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from auditor import config
from auditor.demo.audit import CAUGHT_BY, DEFAULT_FAULTS, demo_config
from auditor.demo.faults import KNOWN


def demo(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "-q", "--report-dir", "out", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "CI": "true", **env},
    )


def findings(cwd: Path) -> set[tuple[str, str]]:
    """(check, kind) of every finding in the run's report.json."""
    report = json.loads((cwd / "out" / "report.json").read_text())
    return {(f["check"], f["kind"]) for f in report["findings"]}


def test_every_fault_of_the_demo_shop_is_audited_by_the_demo() -> None:
    assert set(CAUGHT_BY) == set(KNOWN)


def test_the_demo_config_is_valid_and_its_gate_audit_is_a_subset_of_nightly() -> None:
    settings = config.from_dict(demo_config("http://127.0.0.1:8000"), environ={})
    nightly, gate = settings.audits["nightly"], settings.audits["gate"]
    assert set(gate.checks) <= set(nightly.checks) == set(settings.checks)


# The healthy demo (`--no-faults`: exit 0, no finding) runs from the built wheel in tests/test_wheel.py.


def test_the_default_demo_catches_each_fault_once(tmp_path: Path) -> None:
    result = demo(cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for fault in DEFAULT_FAULTS:
        assert f"caught           {fault}" in result.stdout
    assert findings(tmp_path) == {
        ("links", "broken_link"),
        ("confirmation-email", "email_merge_tag"),
        ("payment", "double_charge"),
        ("contact-autoresponse", "autoresponse_missing"),
        ("checkout", "scenario_failed"),
    }
    # The failed checkout left its screenshot and trace, and the report links them.
    html = (tmp_path / "out" / "report.html").read_text()
    assert "screenshot.png" in html and "trace.zip" in html
    assert list((tmp_path / "out").rglob("trace.zip")) and list((tmp_path / "out").rglob("screenshot.png"))


def test_the_demo_without_a_browser_says_so_once_and_exits_3_checking_only_what_the_crawl_can(
    tmp_path: Path,
) -> None:
    result = demo(
        "--fault", "dead-link", "--fault", "double-submit", cwd=tmp_path, AUDITOR_CHROMIUM="/nowhere/chromium"
    )
    assert result.returncode == 3, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert output.count("No Chromium was found") == 1
    assert "'/nowhere/chromium' does not exist" in output and "apt-get install chromium" in output
    assert "caught           dead-link" in result.stdout
    assert "not checked (no browser) double-submit" in result.stdout
    assert "MISSED" not in output
    assert findings(tmp_path) == {("links", "broken_link")}


def test_the_email_login_and_delivery_faults_are_caught_side_by_side(tmp_path: Path) -> None:
    faults = ["slow-email", "duplicate-email", "email-dead-link", "dead-download", "login-broken"]
    result = demo(*(a for f in faults for a in ("--fault", f)), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert findings(tmp_path) == {
        ("confirmation-email", "email_late"),
        ("confirmation-email", "email_duplicate"),
        ("confirmation-email", "email_broken_link"),
        ("downloads", "delivery_link_broken"),
        ("account-login", "login_failed"),
    }


def test_an_unknown_fault_is_a_usage_error_that_lists_the_known_ones(tmp_path: Path) -> None:
    result = demo("--fault", "nonsense", cwd=tmp_path)
    assert result.returncode == 2
    assert "nonsense" in result.stderr and "dead-link" in result.stderr

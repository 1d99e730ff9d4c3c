"""`auditor gate` against the demo shop: the exit code, junit.xml and the console a CI job shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .harness import free_port, gate, gate_config, junit_cases, output, shop, write_config


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def run_gate(
    tmp_path: Path, url: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str, Path]:
    result = gate(
        "gate",
        "--config",
        "auditor.toml",
        "--base-url",
        url,
        "--report-dir",
        "out",
        "-q",
        *extra,
        cwd=tmp_path,
        env=env,
    )
    return result.returncode, output(result), tmp_path / "out"


def test_a_healthy_shop_passes_the_gate(tmp_path: Path, smtp_port: int) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    with shop(smtp_port=smtp_port) as s:
        code, out, reports = run_gate(tmp_path, s.base_url)
    assert code == 0, out
    assert "Gate PASS (exit 0)" in out
    cases = junit_cases(reports)
    assert {"links", "checkout"} <= set(cases)
    assert not [n for n, c in cases.items() if c.find("failure") is not None or c.find("error") is not None]
    assert "**Gate PASS (exit 0)" in (reports / "summary.md").read_text()


def test_a_checkout_error_fails_with_the_step_in_junit_and_the_console(
    tmp_path: Path, smtp_port: int
) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    with shop("checkout-error", smtp_port=smtp_port) as s:
        url = s.base_url
        code, out, reports = run_gate(tmp_path, url)
    assert code == 1, out
    failure = junit_cases(reports)["checkout: scenario_failed"].find("failure")
    assert failure is not None, out
    assert "step 'Pay with the test card'" in (failure.text or "")
    line = next(x for x in out.splitlines() if "scenario_failed [checkout]" in x)
    assert f"{url}/pay" in line and "step 'Pay with the test card'" in line
    # It submitted a payment: never re-run.
    report = json.loads((reports / "report.json").read_text())
    checkout = next(c for c in report["checks"] if c["name"] == "checkout")
    assert "reruns" not in checkout["stats"]


def test_a_dead_link_fails_with_broken_link_and_annotates_github(tmp_path: Path, smtp_port: int) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    with shop("dead-link", smtp_port=smtp_port) as s:
        url = s.base_url
        code, out, reports = run_gate(tmp_path, url, env=env)
    assert code == 1, out
    failure = junit_cases(reports)["links: broken_link"].find("failure")
    assert failure is not None and "/shipping-policy" in (failure.text or "")
    assert "::error title=broken_link (links)::" in out
    assert f"({url}/shipping-policy (on {url}/" in out
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "**Gate FAIL (exit 1)" in text and "shipping-policy" in text


def test_a_missing_confirmation_email_fails_with_email_missing(tmp_path: Path, smtp_port: int) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    with shop("no-email", smtp_port=smtp_port) as s:
        code, out, reports = run_gate(tmp_path, s.base_url)
    assert code == 1, out
    assert junit_cases(reports)["confirmation-email: email_missing"].find("failure") is not None, out


def test_a_baseline_lets_known_findings_pass_and_new_ones_fail(tmp_path: Path, smtp_port: int) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    with shop("dead-link", smtp_port=smtp_port) as s:
        made = gate(
            "baseline",
            "update",
            "--config",
            "auditor.toml",
            "--base-url",
            s.base_url,
            "--output",
            "baseline.json",
            "--audit",
            "nightly",  # links only: the baseline logic is the same for every kind, and this is fast
            "-q",
            cwd=tmp_path,
        )
        assert made.returncode == 0, output(made)
        code, out, reports = run_gate(
            tmp_path, s.base_url, "--baseline", "baseline.json", "--audit", "nightly"
        )
    entries = json.loads((tmp_path / "baseline.json").read_text())["findings"]
    assert [(e["kind"], e["url"]) for e in entries] == [("broken_link", "/shipping-policy")]
    assert code == 0, out
    assert "Known (in the baseline, not failing):" in out
    assert junit_cases(reports)["links: broken_link"].find("skipped") is not None
    assert "### Known (in the baseline, not failing)" in (reports / "summary.md").read_text()

    with shop("dead-link", "dead-image", smtp_port=smtp_port) as s:
        code, out, reports = run_gate(
            tmp_path, s.base_url, "--baseline", "baseline.json", "--audit", "nightly"
        )
    assert code == 1, out
    assert "broken_image [links]" in out.split("New failures:")[1].split("Known")[0]
    assert junit_cases(reports)["links: broken_image"].find("failure") is not None
    assert junit_cases(reports)["links: broken_link"].find("skipped") is not None


def test_an_unreachable_base_url_exits_3_before_any_check(tmp_path: Path, smtp_port: int) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    url = f"http://127.0.0.1:{free_port()}"
    code, out, reports = run_gate(tmp_path, url)
    assert code == 3, out
    assert f"auditor: could not reach {url}" in out
    assert not reports.exists()


def test_a_gate_that_cannot_run_says_why_on_github(tmp_path: Path, smtp_port: int) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    summary = tmp_path / "summary-github.md"
    url = f"http://127.0.0.1:{free_port()}"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    code, out, _ = run_gate(tmp_path, url, env=env)
    assert code == 3, out
    assert f"::error title=auditor gate could not run (exit 3)::could not reach {url}" in out
    assert summary.read_text().startswith("## auditor gate: could not run (exit 3)")


def test_an_unknown_audit_exits_4_naming_the_known_ones(tmp_path: Path, smtp_port: int) -> None:
    write_config(tmp_path, gate_config(smtp_port))
    code, out, _ = run_gate(tmp_path, "http://127.0.0.1:9", "--audit", "nope")
    assert code == 4, out
    assert "no audit named 'nope' (known: gate, nightly)" in out


def test_a_bad_config_or_baseline_exits_2(tmp_path: Path) -> None:
    (tmp_path / "auditor.toml").write_text('[checks.links]\nkind = "crawl"\nexternal = "sometimes"\n')
    code, out, _ = run_gate(tmp_path, "http://127.0.0.1:9")
    assert code == 2, out
    assert "checks.links.external" in out
    write_config(tmp_path, gate_config(free_port()))
    (tmp_path / "baseline.json").write_text("{not json")
    code, out, _ = run_gate(tmp_path, "http://127.0.0.1:9", "--baseline", "baseline.json")
    assert code == 2, out
    assert "baseline baseline.json is not valid JSON" in out

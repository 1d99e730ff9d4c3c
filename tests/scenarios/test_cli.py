"""`auditor scenario list` and `auditor scenario run` as a user runs them: a real process, real exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from auditor.demo import DemoShop

StartShop = Callable[..., DemoShop]


def auditor(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CI": "true", **env},
    )


def test_list_shows_the_bundled_scenarios_when_there_is_no_scenarios_folder(tmp_path: Path) -> None:
    result = auditor("scenario", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TAGS", "PLACES", "ORDER", "FILE"]
    row = next(line for line in lines if line.startswith("guest-checkout "))
    assert row.split()[:3] == ["guest-checkout", "checkout", "yes"] and re.search(
        r"/guest_checkout\.py:\d+$", row
    )


def test_list_reads_the_folders_given_and_reports_a_broken_file_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "hello.py").write_text(
        'from auditor import scenario\n\n@scenario("hello", tags=["smoke"])\n'
        "async def hello(page):\n    pass\n"
    )
    result = auditor("scenario", "list", "--scenarios", "mine", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:3] == ["hello", "smoke", "no"]
    (tmp_path / "mine" / "typo.py").write_text("async def (:\n")
    broken = auditor("scenario", "list", "--scenarios", "mine", cwd=tmp_path)
    assert broken.returncode == 2
    assert f"{tmp_path / 'mine' / 'typo.py'}:1: syntax error" in broken.stderr


def test_run_of_a_passing_scenario_exits_0_with_the_usual_reports(
    healthy_shop: DemoShop, tmp_path: Path
) -> None:
    result = auditor(
        "scenario",
        "run",
        "contact-form",
        "--base-url",
        healthy_shop.base_url,
        "--report-dir",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [(c["name"], c["kind"], c["status"]) for c in report["checks"]] == [
        ("contact-form", "scenario", "pass")
    ]
    assert (tmp_path / "out" / "junit.xml").exists() and (tmp_path / "auditor.db").exists()


def test_run_of_a_failing_purchase_exits_1_and_says_where(start_shop: StartShop, tmp_path: Path) -> None:
    shop = start_shop("checkout-error")
    result = auditor(
        "scenario", "run", "guest-checkout", "contact-form", "--base-url", shop.base_url, "--allow-orders",
        "--report-dir", "out", "-q", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "guest-checkout failed at step 'Pay with the test card'" in result.stdout
    assert "pass  contact-form" in result.stdout
    assert (tmp_path / "out" / "guest-checkout" / "trace.zip").exists()


def test_run_without_allow_orders_skips_a_purchase_and_exits_0(tmp_path: Path) -> None:
    result = auditor(
        "scenario", "run", "guest-checkout", "--base-url", "http://127.0.0.1:9", "-q", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "places an order; set allow_orders = true on site 'site' to run it" in result.stdout


def test_run_of_an_unknown_scenario_exits_2_listing_the_known_ones(tmp_path: Path) -> None:
    result = auditor("scenario", "run", "buy-hat", "--base-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "no scenario named 'buy-hat' in bundled (known: contact-form, decline-then-approve" in result.stderr
    )


def test_run_without_a_browser_exits_3_saying_what_to_install(healthy_shop: DemoShop, tmp_path: Path) -> None:
    result = auditor(
        "scenario", "run", "contact-form", "--base-url", healthy_shop.base_url, "-q",
        cwd=tmp_path, AUDITOR_CHROMIUM=str(tmp_path / "no-chromium"),
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    assert "does not exist or is not executable" in result.stdout
    assert "apt-get install chromium" in result.stdout

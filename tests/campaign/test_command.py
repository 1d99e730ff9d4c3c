"""`auditor campaign FILE.toml` and `auditor demo --audit campaign` end to end, as a user runs them
(a subprocess, a real demo shop, Chromium); hostile campaign files are clear errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.campaign.demo import CAMPAIGN_FILE
from auditor.demo import DemoShop, parse_faults


def auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "CI": "true"},
    )


CAMPAIGN = """
name = "spring"
base_url = "http://127.0.0.1:9/"
landing_urls = ["/go/spring?utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale"]
reachable = false
email = "spring.eml"
email_origin = "https://harborandpine.example"
words_file = "words.txt"

[coupon]
code = "SPRING20"
product_path = "/products/canvas-tote-bag"
expected_discount = "20%"
"""


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with DemoShop(faults=parse_faults(["utm-stripped"])) as s:
        yield s.base_url


def write_campaign(tmp_path: Path, text: str = CAMPAIGN) -> Path:
    (tmp_path / "spring.eml").write_bytes(CAMPAIGN_FILE.read_bytes())
    (tmp_path / "words.txt").write_text("Harbor\nPine\n")
    path = tmp_path / "spring.toml"
    path.write_text(text)
    return path


@pytest.mark.browser
def test_a_campaign_file_is_checked_recorded_and_reported(shop: str, tmp_path: Path) -> None:
    path = write_campaign(tmp_path)
    folder = tmp_path / "other"
    folder.mkdir()  # run from elsewhere: the file's paths are relative to the file
    r = auditor(
        "campaign", str(path), "--base-url", shop, "--report-dir", str(tmp_path / "r"), "-q", cwd=folder
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "tracking_params_lost" in r.stdout
    assert "coupon_rejected" not in r.stdout
    assert (tmp_path / "r" / "report.html").is_file()
    assert (folder / "auditor.db").is_file()


@pytest.mark.browser
def test_auditor_demo_audit_campaign_catches_each_fault(tmp_path: Path) -> None:
    r = auditor("demo", "--audit", "campaign", "--report-dir", str(tmp_path / "r"), "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for fault in ("utm-stripped", "coupon-expired", "landing-noindex"):
        assert f"caught           {fault}" in r.stdout


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("landing_urls = [", "not valid TOML"),
        ('landing_urls = ["/a"]', "no base_url"),
        ('base_url = "http://127.0.0.1:9"\nlanding_urls = ["http://[bad"]', "landing_urls"),
        ('base_url = "http://127.0.0.1:9"\nlanding_urls = ["javascript:alert(1)"]', "landing_urls"),
        ('base_url = "http://127.0.0.1:9"\nemail = "missing.eml"', "no such file"),
        ('base_url = "http://127.0.0.1:9"\nlanding_urls = ["/a"]\nlangauge = "en"', "langauge"),
        (
            'base_url = "http://127.0.0.1:9"\n[coupon]\ncode = "X"\n'
            'product_path = "/p"\nexpected_total = "lots"',
            "amount",
        ),
    ],
)
def test_a_bad_campaign_file_is_a_clear_error(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    r = auditor("campaign", str(path), "-q", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in r.stderr
    assert "Traceback" not in r.stderr


def test_a_missing_or_binary_campaign_file(tmp_path: Path) -> None:
    r = auditor("campaign", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert r.returncode == 2 and "cannot read" in r.stderr
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe\x00")
    r = auditor("campaign", str(tmp_path / "b.toml"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr

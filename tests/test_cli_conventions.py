"""CLI conventions as a user meets them: real `auditor` processes, real configs in tmp_path, real
loopback sites and real SQLite databases."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crawl.site import Site, page, serve

RUN_ID = re.compile(r"\(run (\d{8}-\d{6}-[0-9a-f]{4})\)")


def auditor(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "CI": "true", **(env or {})},
    )


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """A tiny loopback shop: a home page, an about page, and one dead link on the home page."""
    site = Site(pages={"/": page("/about", "/status/404"), "/about": page("/")})
    with serve(site.app) as url:
        yield url


def write_config(folder: Path, base_url: str, audits: str) -> Path:
    """Two crawl checks (`home` needs `about`, `other` is independent) and the audits given."""
    path = folder / "shop.toml"
    path.write_text(
        f'[sites.shop]\nbase_url = "{base_url}/"\n'
        '[checks.about]\nkind = "crawl"\nstart_paths = ["/about"]\nexternal = false\n'
        '[checks.home]\nkind = "crawl"\nneeds = ["about"]\nexternal = false\n'
        '[checks.other]\nkind = "crawl"\nstart_paths = ["/about"]\nexternal = false\n' + audits
    )
    return path


ONE_AUDIT = '[audits.nightly]\nchecks = ["home", "other"]\n'
TWO_AUDITS = ONE_AUDIT + '[audits.weekly]\nchecks = ["other"]\ndescription = "the long one"\n'


def test_it_takes_the_global_options_before_and_after_the_command(tmp_path: Path, shop: str) -> None:
    write_config(tmp_path, shop, ONE_AUDIT)
    before = auditor("--config", "shop.toml", "validate", cwd=tmp_path)
    after = auditor("validate", "--config", "shop.toml", "-v", cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    assert before.stdout == after.stdout
    assert "shop.toml: valid (1 site(s), 3 check(s), 1 audit(s))" in after.stdout
    # After the command wins over before it, as the later flag does in any command line.
    wins = auditor("--config", "missing.toml", "validate", "--config", "shop.toml", cwd=tmp_path)
    assert wins.returncode == 0, wins.stderr
    nested = auditor("db", "current", "--config", "shop.toml", "-v", cwd=tmp_path)
    assert nested.returncode == 0, nested.stderr


def test_it_runs_the_only_audit_when_none_is_named(tmp_path: Path, shop: str) -> None:
    write_config(tmp_path, shop, ONE_AUDIT)
    result = auditor("run", "--config", "shop.toml", "-q", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "audit 'nightly'" in result.stdout
    assert f"broken_link: {shop}/status/404" in result.stdout


def test_it_lists_the_audits_and_exits_2_when_several_could_run(tmp_path: Path, shop: str) -> None:
    write_config(tmp_path, shop, TWO_AUDITS)
    result = auditor("run", "--config", "shop.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "the config has 2 audits; name the one to run" in result.stderr
    assert "  nightly" in result.stderr and "  weekly  the long one" in result.stderr
    assert not (tmp_path / "auditor.db").exists()


def test_it_runs_only_the_checks_asked_for_plus_what_they_need(tmp_path: Path, shop: str) -> None:
    write_config(tmp_path, shop, ONE_AUDIT)
    result = auditor("run", "nightly", "--check", "home", "--config", "shop.toml", "-q", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    checks = re.findall(r"^  (?:pass|warn|fail|error|skip)\s+(\w+) \(crawl", result.stdout, re.M)
    assert checks == ["about", "home"]


def test_an_unknown_check_lists_the_checks_of_the_audit(tmp_path: Path, shop: str) -> None:
    write_config(tmp_path, shop, ONE_AUDIT)
    result = auditor("run", "nightly", "--check", "ghost", "--config", "shop.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "audit 'nightly' has no check 'ghost'; its checks: about, home, other" in result.stderr
    assert not (tmp_path / "auditor.db").exists()


def test_show_finds_the_latest_run_and_a_unique_prefix_and_lists_an_ambiguous_one(
    tmp_path: Path, shop: str
) -> None:
    ids = []
    for _ in range(2):
        crawl = auditor("crawl", f"{shop}/about", "-q", cwd=tmp_path)
        assert crawl.returncode == 1, crawl.stdout + crawl.stderr  # its dead link
        ids.append(RUN_ID.search(crawl.stdout).group(1))  # type: ignore[union-attr]
    first, second = ids
    latest = auditor("show", "latest", cwd=tmp_path)
    assert latest.returncode == 0, latest.stderr
    assert second in latest.stdout and first not in latest.stdout
    by_prefix = auditor("show", first[:-2], cwd=tmp_path)
    if first[:-2] != second[:-2]:
        assert by_prefix.returncode == 0, by_prefix.stderr
        assert first in by_prefix.stdout
    ambiguous = auditor("show", first[:8], cwd=tmp_path)  # both runs started today
    assert ambiguous.returncode == 2
    assert "matches several runs" in ambiguous.stderr
    assert first in ambiguous.stderr and second in ambiguous.stderr
    missing = auditor("show", "19990101", cwd=tmp_path)
    assert missing.returncode == 4
    assert "no run '19990101'" in missing.stderr


def test_crawl_writes_report_json_data_to_stdout_and_progress_to_stderr(tmp_path: Path, shop: str) -> None:
    result = auditor("crawl", shop, "--format", "json", "--report-dir", "out", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert data == json.loads((tmp_path / "out" / "report.json").read_text())
    assert [f["kind"] for f in data["findings"]] == ["broken_link"]
    assert "FAIL: audit 'links'" in result.stderr


def test_crawl_writes_one_csv_row_per_finding_to_the_output_file(tmp_path: Path, shop: str) -> None:
    result = auditor("crawl", shop, "--format", "csv", "--output", "findings.csv", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Wrote csv to findings.csv" in result.stdout
    assert "FAIL: audit 'links'" in result.stdout
    rows = list(csv.DictReader(io.StringIO((tmp_path / "findings.csv").read_text())))
    assert len(rows) == 1
    assert rows[0]["kind"] == "broken_link" and rows[0]["url"] == f"{shop}/status/404"
    assert rows[0]["source"] == f"{shop}/" and rows[0]["severity"] == "error"


def test_crawl_writes_summary_md_as_markdown(tmp_path: Path, shop: str) -> None:
    result = auditor("crawl", shop, "--format", "markdown", "--report-dir", "out", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout == (tmp_path / "out" / "summary.md").read_text()


def test_a_bare_host_is_crawled_over_https(tmp_path: Path) -> None:
    # Nothing listens for TLS on this loopback port: the error names the https:// URL it tried.
    result = auditor("crawl", "127.0.0.1:9", "-q", "--report-dir", "out", cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "https://127.0.0.1:9/" in result.stdout


@pytest.mark.parametrize(
    "command",
    ["run", "crawl", "scenario", "scenario run", "show", "gate", "baseline update", "db prune", "demo"],
)
def test_every_command_help_has_a_paragraph_examples_and_defaults(tmp_path: Path, command: str) -> None:
    result = auditor(*command.split(), "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    usage, description = result.stdout.split("\n\n")[:2]
    assert usage.startswith(f"usage: auditor {command}")
    assert description.strip().endswith(".")
    assert "\nexamples:\n  auditor " in result.stdout
    assert "--config FILE" in result.stdout and "-v, --verbose" in result.stdout


def test_help_shows_defaults_not_said_in_words(tmp_path: Path) -> None:
    result = auditor("demo-shop", "--help", cwd=tmp_path)
    assert "HTTP port to listen on (default: 8000)" in " ".join(result.stdout.split())

"""Config of many shops: include globs, templates by tag/list/*, per-site overrides, clients, and the
problems `auditor validate` reports (errors keep their key path and name their file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import config as config_mod
from auditor.errors import ConfigError

MAIN = """
include = ["sites/*.toml"]
[checks.links]
kind = "crawl"
external = false
[audits.nightly]
checks = ["links"]
sites = {{ tag = "woocommerce" }}
[audits.everything]
checks = ["links"]
sites = "*"
[audits.pair]
checks = ["links"]
sites = ["b", "a"]
[audits.one]
checks = ["links"]
site = "c"
[clients.acme]
channels = ["acme"]
[clients.quiet]
[alerts.channels.acme]
url = "json://127.0.0.1:9/acme"
[alerts.channels.agency]
url = "json://127.0.0.1:9/agency"
{extra}
"""


def write(folder: Path, extra: str = "", **sites: str) -> Path:
    (folder / "sites").mkdir(exist_ok=True)
    for name, body in sites.items():
        (folder / "sites" / f"{name}.toml").write_text(body, encoding="utf-8")
    path = folder / "auditor.toml"
    path.write_text(MAIN.format(extra=extra), encoding="utf-8")
    return path


SITES = {
    "a": '[sites.a]\nbase_url = "http://127.0.0.1:1"\ntags = ["woocommerce"]\nclient = "acme"\n'
    "[sites.a.overrides.links]\nmax_pages = 500\n",
    "b": '[sites.b]\nbase_url = "http://127.0.0.1:2"\ntags = ["shopify"]\nclient = "quiet"\npublic = true\n',
    "c": '[sites.c]\nbase_url = "http://127.0.0.1:3"\ntags = ["woocommerce", "shopify"]\n',
}


def test_templates_pick_sites_by_tag_list_and_star_and_overrides_apply_per_site(tmp_path: Path) -> None:
    s = config_mod.load(write(tmp_path, **SITES))
    assert s.site_names("nightly") == ["a", "c"]
    assert s.site_names("everything") == ["a", "b", "c"]
    assert s.site_names("pair") == ["b", "a"]
    assert s.site_names("one") == ["c"]
    targets = s.targets("everything")
    assert [(t.audit, t.site) for t in targets] == [
        ("everything", "a"),
        ("everything", "b"),
        ("everything", "c"),
    ]
    pages = {t.site: t.checks["links"].options.max_pages for t in targets}  # type: ignore[attr-defined]
    assert pages == {"a": 500, "b": None, "c": None}
    assert s.checks["links"].options.max_pages is None  # type: ignore[attr-defined]
    assert targets[0].settings.site_for("everything")[0] == "a"
    assert [t.site for t in s.targets("everything", tags=["shopify"])] == ["b", "c"]
    assert [t.site for t in s.targets("everything", sites=["c", "a"])] == ["a", "c"]
    with pytest.raises(ValueError, match="not one of audit 'nightly'"):
        s.targets("nightly", sites=["b"])
    assert s.sites["b"].public and not s.sites["a"].public
    # Routing: a client with channels gets only them; no client, or a client without channels,
    # gets the channels no client lists (the agency's).
    assert s.channels_for("a") == ["acme"]
    assert s.channels_for("b") == ["agency"]
    assert s.channels_for("c") == ["agency"]
    assert s.warnings() == []


def test_a_name_defined_twice_names_both_files(tmp_path: Path) -> None:
    dup = {**SITES, "z": '[sites.a]\nbase_url = "http://127.0.0.1:9"\n'}
    with pytest.raises(ConfigError) as e:
        config_mod.load(write(tmp_path, **dup))
    [p] = e.value.problems
    assert p.path == "sites.a"
    assert str(tmp_path / "sites" / "a.toml") in p.message and str(tmp_path / "sites" / "z.toml") in p.message


def test_problems_in_included_files_keep_their_key_path_and_name_the_file(tmp_path: Path) -> None:
    bad = {
        **SITES,
        "a": '[sites.a]\nbase_url = "ftp://x"\nclient = "nobody"\n'
        '[sites.a.overrides.links]\nmax_pages = "many"\n'
        "[sites.a.overrides.gone]\nx = 1\n",
    }
    with pytest.raises(ConfigError) as e:
        config_mod.load(write(tmp_path, '[clients.other]\nchannels = ["missing"]', **bad))
    found = {p.path: p.message for p in e.value.problems}
    origin = str(tmp_path / "sites" / "a.toml")
    assert origin in found["sites.a.base_url"]
    assert origin in found["sites.a.overrides.links.max_pages"]
    assert "no check named 'gone'" in found["sites.a.overrides.gone"]
    assert "missing" in found["clients.other.channels.0"]


def test_included_files_cannot_include_or_hold_other_tables_nor_be_broken(tmp_path: Path) -> None:
    bad = {
        **SITES,
        "n": 'include = ["../x.toml"]\n',
        "o": '[alerts]\nreport_url = "x"\n',
        "p": "[sites.p\n",
    }
    with pytest.raises(ConfigError) as e:
        config_mod.load(write(tmp_path, **bad))
    text = "\n".join(str(p) for p in e.value.problems)
    assert "includes do not nest" in text
    assert "'alerts' is not allowed here" in text
    assert "p.toml: cannot read it as TOML" in text


def test_validate_warns_of_a_glob_matching_nothing_an_unknown_tag_and_an_empty_template(
    tmp_path: Path,
) -> None:
    extra = '[audits.magento]\nchecks = ["links"]\nsites = { tag = "magento" }'
    more = {**SITES, "d": '[sites.d]\nbase_url = "http://127.0.0.1:4"\nclient = "nobody"\n'}
    path = write(tmp_path, extra, **more)
    text = path.read_text(encoding="utf-8").replace(
        'include = ["sites/*.toml"]', 'include = ["sites/*.toml", "more/*.toml"]'
    )
    path.write_text(text, encoding="utf-8")
    s = config_mod.load(path)
    warned = {w.path: w.message for w in s.warnings()}
    assert "matches no file" in warned["include.1"]
    assert "no site has the tag 'magento'" in warned["audits.magento.sites.tag"]
    # A client without a [clients] table is a label (the dashboard scopes by it): a warning, and
    # its alerts go to the agency's channels.
    assert "no client named 'nobody'" in warned["sites.d.client"]
    assert s.channels_for("d") == ["agency"]
    assert "matches no site" in warned["audits.magento.sites"]
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "--config", str(path), "validate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "magento" in done.stdout + done.stderr


def test_an_audit_with_both_site_and_sites_and_a_template_naming_an_unknown_site_are_errors(
    tmp_path: Path,
) -> None:
    extra = (
        '[audits.both]\nchecks = ["links"]\nsite = "a"\nsites = "*"\n'
        '[audits.ghost]\nchecks = ["links"]\nsites = ["zz"]'
    )
    with pytest.raises(ConfigError) as e:
        config_mod.load(write(tmp_path, extra, **SITES))
    found = {p.path: p.message for p in e.value.problems}
    assert "not both" in found["audits.both"]
    assert "no site named 'zz'" in found["audits.ghost.sites.0"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_hostile_included_files_are_a_clear_error_or_load(tmp_path: Path, body: str) -> None:
    (tmp_path / "sites").mkdir(exist_ok=True)
    (tmp_path / "sites" / "x.toml").write_text(body, encoding="utf-8", errors="surrogatepass")
    (tmp_path / "auditor.toml").write_text('include = ["sites/*.toml"]\n', encoding="utf-8")
    try:
        config_mod.load(tmp_path / "auditor.toml")
    except ConfigError as e:
        assert e.problems

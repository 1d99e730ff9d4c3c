from __future__ import annotations

from pathlib import Path

import pytest

from auditor import config
from auditor.cli import starter_config
from auditor.errors import ConfigError


def problems(data: dict, environ: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        config.from_dict(data, environ=environ or {})
    return [str(p) for p in e.value.problems]


def minimal(**over: object) -> dict:
    data: dict = {
        "sites": {"shop": {"base_url": "https://shop.example.com"}},
        "checks": {"links": {"kind": "crawl"}},
        "audits": {"nightly": {"checks": ["links"]}},
    }
    data.update(over)
    return data


def test_the_starter_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "auditor.toml"
    path.write_text(starter_config())
    settings = config.load(path)
    assert settings.audits["nightly"].schedule == "30 3 * * *"
    assert settings.checks["links"].kind == "crawl"


def test_it_reports_every_problem_at_once_with_its_key_path() -> None:
    found = problems(
        {
            "sites": {"shop": {"base_url": "ftp://nope", "allow_orderz": True}},
            "checks": {
                "links": {"kind": "crawl", "max_pages": 0, "needs": ["ghost"]},
                "mystery": {"kind": "no-such-kind"},
            },
            "audits": {"nightly": {"checks": ["links", "missing"], "schedule": "every day"}},
        }
    )
    assert any(p.startswith("sites.shop.base_url: must be an http(s) URL") for p in found)
    assert any(p.startswith("sites.shop.allow_orderz: unknown key") for p in found)
    assert any(p.startswith("checks.mystery.kind: unknown check kind 'no-such-kind'") for p in found)
    assert any(p.startswith("audits.nightly.schedule: not a valid cron") for p in found)
    assert len(found) >= 4


def test_it_names_unknown_checks_in_needs_and_audits_and_lists_the_known_ones() -> None:
    found = problems(
        minimal(
            checks={"links": {"kind": "crawl", "needs": ["ghost"]}, "shop": {"kind": "crawl"}},
            audits={"nightly": {"checks": ["links", "missing"]}},
        )
    )
    assert "checks.links.needs.0: no check named 'ghost' (known: links, shop)" in found
    assert "audits.nightly.checks.1: no check named 'missing' (known: links, shop)" in found


def test_it_reports_a_needs_cycle() -> None:
    found = problems(
        minimal(
            checks={"a": {"kind": "crawl", "needs": ["b"]}, "b": {"kind": "crawl", "needs": ["a"]}},
            audits={"nightly": {"checks": ["a"]}},
        )
    )
    assert any("form a cycle: a -> b -> a" in p for p in found)


def test_it_validates_a_check_kinds_own_options_with_the_check_path() -> None:
    found = problems(minimal(checks={"links": {"kind": "crawl", "max_pagez": 3}}))
    assert any(p.startswith("checks.links.max_pagez") for p in found)


def test_it_expands_environment_variables_and_treats_them_as_secrets() -> None:
    data = minimal()
    data["sites"]["shop"]["headers"] = {"Authorization": "Bearer ${SHOP_TOKEN}"}
    data["sites"]["shop"]["base_url"] = "${SHOP_URL:-https://default.example.com}"
    settings = config.from_dict(data, environ={"SHOP_TOKEN": "s3cr3t-token"})
    assert settings.sites["shop"].base_url == "https://default.example.com"
    assert settings.sites["shop"].headers["Authorization"] == "Bearer s3cr3t-token"
    # The whole header value is a secret, and so is the environment value on its own.
    assert settings.redact("sent Bearer s3cr3t-token to x") == "sent ********** to x"
    assert settings.redact("token=s3cr3t-token") == "token=**********"


def test_it_names_a_missing_environment_variable_at_its_key_path() -> None:
    data = minimal()
    data["sites"]["shop"]["headers"] = {"Authorization": "Bearer ${SHOP_TOKEN}"}
    assert "sites.shop.headers.Authorization: environment variable SHOP_TOKEN is not set" in problems(data)


def test_it_asks_which_site_an_audit_targets_when_there_are_several() -> None:
    data = minimal()
    data["sites"]["other"] = {"base_url": "https://other.example.com"}
    assert any(p.startswith("audits.nightly.site: name the site") for p in problems(data))


def test_a_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "auditor.toml"
    path.write_text('database_url = "sqlite:///data/a.db"\n')
    settings = config.load(path)
    assert settings.database_url() == f"sqlite:///{tmp_path / 'data' / 'a.db'}"


def test_it_reports_a_toml_syntax_error_and_a_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sites\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(bad)
    with pytest.raises(ConfigError, match="auditor init"):
        config.load(tmp_path / "absent.toml")


def test_the_browser_section_has_defaults_and_rejects_unknown_keys() -> None:
    settings = config.from_dict(minimal())
    assert settings.model.browser.model_dump() == {
        "executable_path": None,
        "headless": True,
        "extra_args": [],
    }
    settings = config.from_dict(
        minimal(browser={"executable_path": "/opt/chrome", "extra_args": ["--lang=de"]})
    )
    assert settings.model.browser.executable_path == "/opt/chrome"
    assert problems(minimal(browser={"headles": False})) == [
        "browser.headles: unknown key (check its spelling in docs/reference/configuration.md)"
    ]


def test_an_ad_hoc_audit_runs_every_check_given_against_one_site() -> None:
    settings = config.ad_hoc(
        "http://127.0.0.1:9",
        {"a": {"kind": "crawl"}, "b": {"kind": "crawl", "max_pages": 5}},
        audit="both",
        site={"allow_orders": True},
    )
    assert settings.audits["both"].checks == ["a", "b"]
    assert settings.sites["site"].allow_orders is True
    assert settings.base_dir == Path.cwd()


@pytest.mark.parametrize(
    ("mailbox", "expected"),
    [
        ({"kind": "pop"}, "sites.a.mailbox: unknown kind 'pop': set kind to one of 'sink', 'imap'"),
        ({"port": 1}, "sites.a.mailbox: `kind` is missing"),
        ({"kind": "sink", "prot": 1}, "sites.a.mailbox.sink.prot: unknown key"),
    ],
)
def test_a_section_chosen_by_kind_names_the_kinds(mailbox: dict[str, object], expected: str) -> None:
    data = {
        "sites": {"a": {"base_url": "http://shop.test", "mailbox": mailbox}},
        "checks": {"c": {"kind": "crawl"}},
        "audits": {"n": {"checks": ["c"]}},
    }
    with pytest.raises(ConfigError) as e:
        config.from_dict(data, environ={})
    assert any(str(p).startswith(expected) for p in e.value.problems), e.value.problems


def test_an_environment_value_is_a_secret_only_where_secrets_go() -> None:
    data = minimal()
    shop = data["sites"]["shop"]
    shop["base_url"] = "${SHOP_URL}"
    shop["headers"] = {"X-Token": "${SHOP_TOKEN}"}
    data["alerts"] = {"channels": {"ops": {"url": "json://127.0.0.1:${HOOK_PORT}/hook"}}}
    data["scheduler"] = {"heartbeat_url": "https://hc-ping.com/${HC_UUID}"}
    env = {
        "SHOP_URL": "https://shop.example.com",
        "SHOP_TOKEN": "tok-8f2a",
        "HOOK_PORT": "8123",
        "HC_UUID": "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278",
    }
    settings = config.from_dict(data, environ=env)
    assert settings.redact("pinged 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278") == "pinged **********"
    assert settings.redact("https://shop.example.com/offers/ sent tok-8f2a") == (
        "https://shop.example.com/offers/ sent **********"
    )
    # The channel URL is a secret as a whole; its port alone is no credential.
    assert settings.redact("posted to json://127.0.0.1:8123/hook on 8123") == "posted to ********** on 8123"


def test_a_base_url_from_the_environment_shows_in_findings_each_listed_once(tmp_path: Path) -> None:
    import asyncio

    from auditor.runner import RunOptions, run_audit
    from auditor.store import Store
    from tests.crawl.site import Site, page, serve

    # /status/404 is linked from two pages: the crawler emits it again once it knows both.
    site = Site(
        pages={"/": page("/offers/", "/more"), "/more": page("/status/404"), "/offers/": page("/status/404")}
    )
    with serve(site.app) as base:
        data = minimal(report_dir=str(tmp_path / "reports"))
        data["sites"]["shop"] |= {"base_url": "${SHOP_URL}", "headers": {"X-Token": "${SHOP_TOKEN}"}}
        data["checks"]["links"] |= {"external": False, "sitemap": False}
        settings = config.from_dict(data, environ={"SHOP_URL": base, "SHOP_TOKEN": "tok-8f2a-secret"})
        store = Store.open(f"sqlite:///{tmp_path / 'auditor.db'}")
        try:
            run = asyncio.run(run_audit(settings, "nightly", RunOptions(recorder=store)))
            stored = store.load_run(run.id)
        finally:
            store.close()
    assert [f.url for f in run.findings] == [f"{base}/status/404"]
    assert sorted(run.findings[0].sources) == [f"{base}/more", f"{base}/offers/"]
    assert stored is not None
    assert [f.url for f in stored.findings] == [f"{base}/status/404"]
    assert "tok-8f2a-secret" in site.secrets_seen


def test_it_takes_toml_types_as_they_are_and_says_what_was_expected() -> None:
    data = minimal()
    data["sites"]["shop"] |= {"allow_orders": "yes", "crawl": {"max_pages": "10"}}
    data["checks"]["links"] |= {"fragments": "no", "max_depth": 2.5}
    found = problems(data)
    assert (
        "sites.shop.allow_orders: must be true or false (a TOML boolean, without quotes), got 'yes'" in found
    )
    assert "sites.shop.crawl.max_pages: must be a whole number (without quotes), got '10'" in found
    assert "checks.links.fragments: must be true or false (a TOML boolean, without quotes), got 'no'" in found
    assert "checks.links.max_depth: must be a whole number (without quotes), got 2.5" in found


def test_a_wrong_secret_value_is_not_repeated_in_the_problem() -> None:
    data = minimal()
    data["sites"]["shop"]["headers"] = {"Authorization": 1234567}
    assert "sites.shop.headers.Authorization: must be a string (in quotes), got **********" in problems(data)


def test_every_option_of_every_check_is_reported_with_the_cross_references_in_one_error() -> None:
    found = problems(
        {
            "sites": {"shop": {"base_url": "https://shop.example.com", "crawl": {"request_timeout_s": -1}}},
            "checks": {
                "links": {"kind": "crawl", "timeout_s": "soon", "request_timeout_s": -5, "max_pagez": 1},
                "more": {"kind": "crawl", "retries": 99, "needs": ["ghost"]},
            },
            "audits": {"nightly": {"checks": ["links", "missing"], "schedule": "every day"}},
        }
    )
    assert "sites.shop.crawl.request_timeout_s: Input should be greater than 0" in found
    assert any(p.startswith("checks.links.timeout_s: must be a number") for p in found)
    assert "checks.links.request_timeout_s: Input should be greater than 0" in found
    assert any(p.startswith("checks.links.max_pagez: unknown key") for p in found)
    assert any(p.startswith("checks.more.retries:") for p in found)
    assert "checks.more.needs.0: no check named 'ghost' (known: links, more)" in found
    assert "audits.nightly.checks.1: no check named 'missing' (known: links, more)" in found
    assert any(p.startswith("audits.nightly.schedule: not a valid cron") for p in found)


@pytest.mark.parametrize(
    ("base_url", "why"),
    [
        ("https://exa mple.com/", "may only have letters, digits and inner hyphens"),
        ("https://shop..example.com/", "empty label"),
        ("https://-shop.example.com/", "may only have letters, digits and inner hyphens"),
        ("https://999.1.1.1/", "looks like an IP address"),
        ("https://shop.example.com:99999/", "not a valid URL"),
        ("https://[::1/", "not a valid URL"),
    ],
)
def test_it_reports_an_invalid_host_in_the_base_url(base_url: str, why: str) -> None:
    data = minimal()
    data["sites"]["shop"]["base_url"] = base_url
    [problem] = problems(data)
    assert problem.startswith("sites.shop.base_url: ") and why in problem


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8000", "https://[::1]:8443/", "https://bücher.example/", "http://localhost"],
)
def test_it_accepts_addresses_international_names_and_localhost(base_url: str) -> None:
    data = minimal()
    data["sites"]["shop"]["base_url"] = base_url
    assert config.from_dict(data, environ={}).sites["shop"].base_url == base_url


def test_validate_warns_of_an_audit_nobody_hears_about_and_an_email_check_without_mailbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.cli import main

    path = tmp_path / "auditor.toml"
    path.write_text(
        """
[sites.shop]
base_url = "https://shop.example.com"

[checks.links]
kind = "crawl"

[checks.mail]
kind = "email"
needs = ["links"]

[audits.nightly]
checks = ["links", "mail"]

[audits.quiet]
checks = ["links"]

[alerts.channels.ops]
url = "json://127.0.0.1:8123/hook"
audits = ["nightly"]
"""
    )
    assert main(["--config", str(path), "validate"]) == 0
    out = capsys.readouterr().out
    assert "warning: audits.quiet: no alert channel hears about this audit" in out
    assert (
        "warning: checks.mail: the email check reads the shop's emails, but site 'shop' has no mailbox" in out
    )
    assert "audits.nightly: no alert channel" not in out
    assert "2 warning(s)" in out


def test_it_reports_invalid_hosts_in_host_sections_and_the_report_url() -> None:
    data = minimal()
    data["sites"]["shop"]["hosts"] = {"cdn..example.com": {}, "checkout.example.com:8443": {}}
    data["alerts"] = {"report_url": "https://reports example.com/{run_id}/report.html"}
    found = problems(data)
    assert any(p.startswith("sites.shop.hosts: 'cdn..example.com' is not a host name") for p in found)
    assert any(p.startswith("alerts.report_url: has an invalid host 'reports example.com'") for p in found)
    assert len(found) == 2

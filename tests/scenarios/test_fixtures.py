"""The `customer` and `site` fixtures: a fresh identity per run and scenario; URLs on the site."""

from __future__ import annotations

import pytest

from auditor import config
from auditor.errors import ConfigError
from auditor.scenarios import Site, new_customer


def test_id_is_unique_per_run_and_scenario() -> None:
    c = new_customer(
        "audit+{id}@example.com", "Ada Auditor", run_id="20261123-094500-3f2a", scenario="Guest checkout"
    )
    assert c.id == "20261123-094500-3f2a-guest-checkout"
    assert c.email == "audit+20261123-094500-3f2a-guest-checkout@example.com"
    assert (c.name, c.first_name) == ("Ada Auditor", "Ada")
    other = new_customer(
        "audit+{id}@example.com", "Ada Auditor", run_id="20261123-094500-3f2a", scenario="contact-form"
    )
    assert other.email != c.email and other.password != c.password


def test_run_id_and_scenario_placeholders_fill_in() -> None:
    c = new_customer("qa-{scenario}.{run_id}@shop.test", "Grace", run_id="r1", scenario="newsletter-signup")
    assert c.email == "qa-newsletter-signup.r1@shop.test"
    assert c.first_name == "Grace"


def test_the_password_is_strong_and_random() -> None:
    passwords = {new_customer("a+{id}@x.test", "A", run_id="r", scenario="s").password for _ in range(20)}
    assert len(passwords) == 20
    for p in passwords:
        assert len(p) >= 12
        assert any(c.islower() for c in p) and any(c.isupper() for c in p) and any(c.isdigit() for c in p)
        assert not p[-1].isalnum()


def test_the_customer_is_in_the_outputs_shape_of_the_contract() -> None:
    c = new_customer("a+{id}@x.test", "Ada Auditor", run_id="r", scenario="s")
    assert c.to_dict() == {
        "email": c.email,
        "name": "Ada Auditor",
        "first_name": "Ada",
        "password": c.password,
    }


def site_problems(**site: object) -> list[str]:
    with pytest.raises(ConfigError) as e:
        config.from_dict({"sites": {"shop": {"base_url": "https://shop.test", **site}}})
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("audit@example.com", "must contain {id} or {run_id}"),
        ("audit+{id}@a@example.com", "must be one email address"),
        ("audit+{id}", "must be one email address"),
        ("audit+{id}-{order}@example.com", "only {id}, {run_id} and {scenario} may be used"),
    ],
)
def test_a_bad_email_pattern_is_a_config_problem(pattern: str, says: str) -> None:
    (problem,) = site_problems(customer_email=pattern)
    assert problem.startswith("sites.shop.customer_email: ") and says in problem


def test_the_defaults_and_a_custom_pattern_are_accepted() -> None:
    settings = config.from_dict({"sites": {"shop": {"base_url": "https://shop.test"}}})
    site = settings.sites["shop"]
    assert (site.customer_email, site.customer_name) == ("audit+{id}@example.com", "Ada Auditor")
    settings = config.from_dict(
        {"sites": {"shop": {"base_url": "https://shop.test", "customer_email": "qa+{run_id}@shop.test"}}}
    )
    assert settings.sites["shop"].customer_email == "qa+{run_id}@shop.test"


def test_site_url_keeps_a_base_path() -> None:
    shop = Site("shop", "https://x.test/shop/")
    assert shop.url("/cart") == "https://x.test/shop/cart"
    assert shop.url("cart") == "https://x.test/shop/cart"
    assert shop.url("https://cdn.test/a.js") == "https://cdn.test/a.js"

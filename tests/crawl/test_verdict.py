"""The verdicts decide what users are told: every rule of `auditor.crawl.verdict`, one by one."""

from __future__ import annotations

import pytest

from auditor.crawl.fetch import Outcome
from auditor.crawl.verdict import SEVERITY, broken_kind, kind_for, message, new_finding, verdict
from auditor.results import Severity

URL = "https://shop.example/p"


def out(status: int | None = 200, **kw: object) -> Outcome:
    return Outcome(url=URL, method="GET", status=status, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "internal", "expected"),
    [
        (out(200), True, "ok"),
        (out(204), False, "ok"),
        (out(299), True, "ok"),
        (out(None, error="could not connect"), True, "broken"),
        (out(200, loop=True), True, "loop"),
        (out(429), True, "rate_limited"),
        (out(429), False, "rate_limited"),
        (out(404), True, "broken"),
        (out(400), True, "broken"),
        (out(400, body_size=10), True, "broken"),
        (out(300), True, "broken"),
        (out(500), False, "broken"),
        (out(401), True, "broken"),
        (out(403), True, "broken"),
        (out(999), True, "broken"),
        (out(401), False, "blocked"),
        (out(403), False, "blocked"),
        (out(999), False, "blocked"),
        (out(404), False, "broken"),
        (out(200, headers={"cf-mitigated": "Challenge"}), False, "blocked"),
        (out(200, headers={"cf-mitigated": "challenge"}), True, "ok"),
        (out(200, headers={"cf-mitigated": "other"}), False, "ok"),
        (out(101), True, "broken"),
        (out(199), False, "broken"),
        (out(302), True, "broken"),
        (out(302, body_size=1), True, "ok"),
        (out(300, body_size=10), False, "ok"),
        (out(399), True, "broken"),
        (out(302, error="it redirects to a ftp: address"), True, "broken"),
        (out(302, body_size=5, error="the redirect's Location is empty"), True, "broken"),
        (out(200, chain=[("a", 302), ("b", 302)]), True, "ok"),
        (out(200, chain=[("a", 302), ("b", 302), ("c", 307)]), True, "redirect"),
        (out(200, chain=[("a", 301)]), True, "redirect"),
        (out(200, chain=[("a", 308)]), True, "redirect"),
        (out(200, chain=[("a", 302), ("b", 301)]), True, "redirect"),
        (out(200, chain=[("a", 303)]), True, "ok"),
    ],
)
def test_each_outcome_gets_the_verdict_a_customer_would_experience(
    outcome: Outcome, internal: bool, expected: str
) -> None:
    assert verdict(outcome, internal=internal) == expected


def test_chain_hops_sets_the_redirect_threshold() -> None:
    two = out(200, chain=[("a", 302), ("b", 302)])
    assert verdict(two, internal=True, chain_hops=2) == "redirect"
    assert verdict(two, internal=True, chain_hops=3) == "ok"
    assert verdict(out(200, chain=[("a", 302)]), internal=True, chain_hops=1) == "redirect"
    assert verdict(out(200), internal=True, chain_hops=1) == "ok"


@pytest.mark.parametrize(
    ("element", "kind"),
    [
        ("img[src]", "broken_image"),
        ("img[srcset]", "broken_image"),
        ("source[srcset]", "broken_image"),
        ("link[rel=icon]", "broken_image"),
        ("a[href]", "broken_link"),
        ("link[rel=canonical]", "broken_link"),
        ("meta[http-equiv=refresh]", "broken_link"),
        ("header:Refresh", "broken_link"),
        ("sitemap", "broken_link"),
        ("start", "broken_link"),
        ("script[src]", "broken_resource"),
        ("link[rel=stylesheet]", "broken_resource"),
    ],
)
def test_a_dead_url_is_named_by_the_element_that_loads_it(element: str, kind: str) -> None:
    assert broken_kind(element) == kind
    assert kind_for("broken", element) == kind


def test_each_verdict_maps_to_its_finding_kind() -> None:
    assert kind_for("blocked", "a[href]") == "blocked_link"
    assert kind_for("rate_limited", "img[src]") == "rate_limited"
    assert kind_for("redirect", "a[href]") == "redirect_chain"
    assert kind_for("loop", "img[src]") == "redirect_loop"
    assert kind_for("ok", "a[href]") is None
    assert kind_for("excluded", "a[href]") is None


def test_severities_put_dead_ends_as_errors_and_the_rest_as_warnings() -> None:
    for kind in ("broken_link", "broken_image", "broken_resource", "redirect_loop", "sitemap_dead_url"):
        assert SEVERITY[kind] is Severity.ERROR, kind
    for kind in (
        "blocked_link", "rate_limited", "redirect_chain", "malformed_link", "missing_fragment",
        "sitemap_orphan_page", "sitemap_missing_page", "crawl_incomplete",
    ):  # fmt: skip
        assert SEVERITY[kind] is Severity.WARNING, kind


def test_messages_say_what_happened_where_and_what_to_do() -> None:
    src = "https://shop.example/"
    assert message("broken_link", URL, out(404), src) == (
        f"Link {URL} (linked from {src}) is dead: HTTP 404. Fix the target or remove the reference."
    )
    assert message("broken_image", URL, out(404)) == (
        f"Image {URL} is dead: HTTP 404. Fix the target or remove the reference."
    )
    assert message("broken_resource", URL, None).startswith(f"Resource {URL} is dead: not checked.")
    assert message("blocked_link", URL, out(403), src) == (
        f"{URL} (linked from {src}) refused the crawler (HTTP 403); probably bot protection. "
        "Open it in a browser to confirm it works."
    )
    assert message("rate_limited", URL, out(429)) == (
        f"{URL} kept answering 429 Too Many Requests; it could not be checked. Re-run later."
    )
    chain = out(200, chain=[(URL, 301), ("https://shop.example/q", 302)], final_url="https://shop.example/z")
    assert message("redirect_chain", URL, chain) == (
        f"{URL} redirects (2 hop(s), HTTP 301 -> 302 -> 200) to https://shop.example/z; "
        "link to https://shop.example/z directly."
    )
    assert message("redirect_chain", URL, None) == (
        f"{URL} redirects (0 hop(s), not checked) to {URL}; link to {URL} directly."
    )
    assert message("redirect_loop", URL, out(302, loop=True), src) == (
        f"{URL} (linked from {src}) redirects in a loop and never loads a page. Fix the redirect rules."
    )
    with pytest.raises(ValueError, match="no message for crawl_incomplete"):
        message("crawl_incomplete", URL)


@pytest.mark.parametrize(
    ("outcome", "what"),
    [
        (out(None), "no response"),
        (out(None, error="could not connect: refused"), "could not connect: refused"),
        (out(None, error="timed out", chain=[("a", 302)]), "HTTP 302, then timed out"),
        (out(302, loop=True), "redirect loop"),
        (out(404, chain=[("a", 301), ("b", 302)]), "HTTP 301 -> 302 -> 404"),
        (out(302, error="bad Location"), "HTTP 302: bad Location"),
        (out(101), "HTTP 101, an interim answer that is not a page"),
        (
            out(302),
            "HTTP 302 without a Location header and with an empty body, so a browser shows a blank page",
        ),
        (out(302, body_size=3), "HTTP 302"),
        (
            out(300),
            "HTTP 300 without a Location header and with an empty body, so a browser shows a blank page",
        ),
        (out(400), "HTTP 400"),
        (out(404), "HTTP 404"),
        (out(200), "HTTP 200"),
    ],
)
def test_what_happened_is_told_in_the_message(outcome: Outcome, what: str) -> None:
    assert message("broken_link", URL, outcome) == (
        f"Link {URL} is dead: {what}. Fix the target or remove the reference."
    )


def test_a_new_finding_carries_its_kinds_severity_and_every_field() -> None:
    f = new_finding("missing_fragment", URL, "a[href]", {"verdict": "ok"}, "msg", "top")
    assert (f.kind, f.severity, f.url, f.element, f.evidence, f.message, f.key) == (
        "missing_fragment", Severity.WARNING, URL, "a[href]", {"verdict": "ok"}, "msg", "top",
    )  # fmt: skip
    assert new_finding("broken_link", URL, "a[href]", {}, "m").severity is Severity.ERROR
    assert new_finding("broken_link", URL, "a[href]", {}, "m").key == ""

"""Finding fingerprints: the same problem in two runs, or on two hosts, is the same finding."""

from __future__ import annotations

from auditor.results import Finding, Severity


def fingerprint(url: str, base: str = "https://shop.test", **kw: str) -> str:
    return (
        Finding("scenario_failed", Severity.ERROR, url, "m", key="Pay", **kw)
        .finalize("checkout", base)
        .fingerprint
    )


def test_the_same_page_on_a_preview_host_has_the_same_fingerprint() -> None:
    assert fingerprint("https://shop.test/cart") == fingerprint(
        "https://pr-7.preview.test/cart", "https://pr-7.preview.test"
    )


def test_a_different_url_is_a_different_finding() -> None:
    assert fingerprint("https://shop.test/thank-you/A1") != fingerprint("https://shop.test/thank-you/B2")


def test_an_identity_url_makes_the_page_url_incidental() -> None:
    a = fingerprint("https://shop.test/thank-you/A1", identity_url="https://shop.test")
    b = fingerprint("https://shop.test/thank-you/B2", identity_url="https://shop.test")
    assert a == b
    assert a != fingerprint("https://shop.test/thank-you/A1")

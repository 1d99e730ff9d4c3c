"""What changes per run in a URL is masked as {token}; slugs, dates and product names are not."""

from __future__ import annotations

import base64
import json
import random
import string
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.masking import TOKEN, is_token, mask_text, mask_url

_WORD_LINES = (
    "blue linen shirt large small red black summer sale shoes running dress cotton wool leather bag",
    "kids women men home garden kitchen table chair lamp phone case cover cable charger wireless",
    "speaker smart watch pro max mini ultra air book classic vintage modern organic coffee gift card",
)
WORDS = [w for line in _WORD_LINES for w in line.split(" ")]

SHOP = "https://shop.example.com"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signed_token(rnd: random.Random) -> str:
    """A Django-style signed value: base64 JSON payload, base62 timestamp, base64 signature."""
    payload = b64(json.dumps({"order": rnd.randint(1, 10**6)}).encode())
    stamp = "".join(rnd.choice(string.digits + string.ascii_letters) for _ in range(6))
    return f"{payload}:{stamp}:{b64(rnd.randbytes(32))}"


def jwt(rnd: random.Random) -> str:
    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    body = b64(json.dumps({"sub": rnd.randint(1, 10**9), "exp": rnd.randint(10**9, 2 * 10**9)}).encode())
    return f"{header}.{body}.{b64(rnd.randbytes(32))}"


TOKEN_KINDS = {
    "signed": signed_token,
    "jwt": jwt,
    "uuid": lambda rnd: str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
    "hex": lambda rnd: rnd.randbytes(rnd.choice([8, 16, 20, 32])).hex(),
    "base64url": lambda rnd: b64(rnd.randbytes(48)),
}

slug_word = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(str.title),
    st.from_regex(r"[a-z]{1,14}", fullmatch=True),
    st.integers(0, 99_999).map(str),
)
slugs = st.lists(slug_word, min_size=1, max_size=7).flatmap(
    lambda words: st.sampled_from(["-", "_", ""]).map(
        lambda sep: sep.join(words) if sep or all(w.isalpha() for w in words) else "-".join(words)
    )
)


def test_it_masks_a_signed_download_token_and_keeps_the_path_around_it() -> None:
    url = f"{SHOP}/downloads/eyJvcmRlciI6NDJ9:1xYY4Z:pvBEk3WJ9Gq0nXc_Hv2k8cUQbLQ/"
    assert mask_url(url) == f"{SHOP}/downloads/{TOKEN}/"


def test_it_masks_uuids_long_hex_and_jwts_in_paths_and_query_values() -> None:
    url = (
        f"{SHOP}/orders/1b4e28ba-2fa1-11d2-883f-0016d3cca427/invoice-3f2a9c1b5d7e8f60a1b2.pdf"
        f"?access={jwt(random.Random(1))}&page=2"
    )
    assert mask_url(url) == f"{SHOP}/orders/{TOKEN}/invoice-{TOKEN}.pdf?access={TOKEN}&page=2"


def test_it_masks_the_runs_own_values_however_they_are_encoded() -> None:
    email = "audit+20261123-094500-3f2a-guest-checkout@example.com"
    url = f"{SHOP}/account/orders/1042/?email=audit%2B20261123-094500-3f2a-guest-checkout%40example.com"
    assert mask_url(url, [email, "1042"]) == f"{SHOP}/account/orders/{TOKEN}/?email={TOKEN}"
    assert mask_text("sent to " + email, [email]) == f"sent to {TOKEN}"


def test_a_short_order_number_is_masked_only_as_a_whole_segment() -> None:
    assert mask_url(f"{SHOP}/orders/7/2017/", ["7"]) == f"{SHOP}/orders/{TOKEN}/2017/"


def test_it_leaves_slugs_dates_and_product_names_alone() -> None:
    for path in (
        "/products/blue-linen-shirt",
        "/2024/05/",
        "/category/shoes-42",
        "/p/iPhone15ProMax-256GB-Blue",
        "/p/ThisIsMyGreatProductNameWithAnotherWord",
        "/wiki/Category:Shoes",
        "/static/jquery.min.js",
        "/download/summer-catalogue-2024.pdf",
    ):
        assert mask_url(SHOP + path) == SHOP + path


def test_a_malformed_url_comes_back_as_it_was() -> None:
    for url in ("http://[::1/x", "::::", "", "?", "#", "//", "http://shop/a b/%zz"):
        assert mask_url(url) == url


@given(slugs)
def test_it_never_masks_a_slug_of_words_and_numbers(slug: str) -> None:
    url = f"{SHOP}/products/{slug}/?color={slug}"
    assert mask_url(url) == url
    assert not is_token(slug)


@settings(max_examples=200)
@given(st.text(), st.lists(st.text(max_size=20), max_size=3))
def test_masking_any_text_never_raises_and_masking_again_changes_nothing(url: str, known: list[str]) -> None:
    once = mask_url(url, known)
    assert mask_url(once, known) == once
    assert mask_text(mask_text(url, known), known) == mask_text(url, known)


@given(
    st.sampled_from(sorted(TOKEN_KINDS)),
    st.randoms(use_true_random=True),
    slugs,
    st.sampled_from(["path", "query", "download"]),
)
def test_the_same_url_with_different_tokens_masks_equal(
    kind: str, rnd: random.Random, slug: str, where: str
) -> None:
    def url(token: str) -> str:
        if where == "path":
            return f"{SHOP}/{slug}/{token}/"
        if where == "query":
            return f"{SHOP}/{slug}?t={token}&lang=en"
        return f"{SHOP}/download/{token}"

    first, second = (url(TOKEN_KINDS[kind](rnd)) for _ in range(2))
    assert first != second
    assert mask_url(first) == mask_url(second)
    assert TOKEN in mask_url(first)

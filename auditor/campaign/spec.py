"""The options of a `campaign` check; a campaign file (`auditor campaign FILE.toml`) holds the same
keys at its top level, plus `base_url` and `name`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from auditor.campaign.coupon import DEFAULT_FIELD, DEFAULT_TOTAL, parse_amount
from auditor.campaign.params import DEFAULT_TRACKING_PARAMS
from auditor.config import Regexes
from auditor.crawl.urls import MalformedURL, normalise


def _url_problem(url: str) -> str | None:
    raw = url.strip()
    if not raw:
        return "an empty URL"
    if raw.startswith("/"):
        raw = "http://site.invalid" + raw
    elif not raw.lower().startswith(("http://", "https://")):
        return f"{url!r} is neither an absolute http(s) URL nor a path starting with /"
    try:
        normalise(raw)
    except MalformedURL as e:
        return f"{url!r} is not a URL that can be opened ({e})"
    return None


def _paths(value: list[str]) -> list[str]:
    for url in value:
        problem = _url_problem(url)
        if problem:
            raise ValueError(problem)
    return value


class CouponOptions(BaseModel):
    """The campaign's coupon: where to put a product in the cart, and what the code must do there."""

    model_config = ConfigDict(extra="forbid")

    # The code customers are given (SPRING20).
    code: str = Field(min_length=1)
    # The product page to add to the cart from (a path on the site or an absolute URL).
    product_path: str
    # The add-to-cart button on the product page (a Playwright selector).
    add_to_cart: str = "#add-to-cart, form[action*='cart'] [type=submit], button[name='add-to-cart']"
    # The cart page, where the code is entered.
    cart_path: str = "/cart"
    # The code's input field; the default finds the usual names (coupon, promo, voucher, discount).
    field: str = DEFAULT_FIELD
    # The button that applies the code (default: the submit button of the field's form).
    submit: str | None = None
    # The element showing the cart's total (its text is read as an amount).
    total: str = DEFAULT_TOTAL
    # What the code takes off: "20%" or an amount ("5.00"). None: any reduction.
    expected_discount: str | None = None
    # The cart total the code must give (an amount); None: not checked.
    expected_total: str | None = None

    @field_validator("product_path", "cart_path")
    @classmethod
    def _path_ok(cls, value: str) -> str:
        return _paths([value])[0]

    @field_validator("expected_discount", "expected_total")
    @classmethod
    def _amount_ok(cls, value: str | None) -> str | None:
        if value is not None and parse_amount(value.rstrip("% ")) is None:
            raise ValueError(f"{value!r} is not an amount (e.g. '20%' or '4.80')")
        return value


class CampaignOptions(BaseModel):
    """A campaign: its landing URLs, its coupon and its email, checked before launch."""

    model_config = ConfigDict(extra="forbid")

    # The URLs ads and emails link to, with their tracking parameters (paths are on the site).
    landing_urls: list[str] = []
    # Query parameters that must survive every redirect (`utm_*` is a prefix).
    tracking_params: list[str] = list(DEFAULT_TRACKING_PARAMS)
    # The shop keeps the tracking parameters into the cart (in its URL, a cookie or the page).
    params_in_cart: bool = False
    # The cart page `params_in_cart` looks at.
    cart_path: str = "/cart"
    # The page the landing page's canonical link must name (None: the landing page itself).
    canonical: str | None = None
    # The landing page must be linked from the home page or listed in the sitemap.
    reachable: bool = True
    # Load each landing page in Chromium: it must load with no script error or failed request.
    browser: bool = True
    # Check every link, image and call to action of the landing pages and the email.
    check_links: bool = True
    # Also check links to other hosts.
    external: bool = True
    # Regexes: links whose URL matches any of them are not checked.
    ignore_links: Regexes = []
    # The price the landing page must show (an amount, e.g. "19.20").
    expected_price: str | None = None
    # The coupon to try in the cart.
    coupon: CouponOptions | None = None
    # The campaign's email as exported from the sending tool (.eml, or .html for a body alone).
    email: str | None = None
    # The email's links to this origin are checked on the site's base URL instead (an email
    # written for production, checked on staging): "https://shop.example".
    email_origin: str | None = None
    # Check the email's spelling.
    spelling: bool = True
    # The spelling dictionary's language (pyspellchecker: en, es, fr, de, it, pt, nl, ru, ...).
    language: str = "en"
    # The shop's own words (brand and product names) the spelling check accepts.
    words: list[str] = []
    # A file of more such words, one a line.
    words_file: str | None = None

    @field_validator("landing_urls")
    @classmethod
    def _landing_ok(cls, value: list[str]) -> list[str]:
        return _paths(value)

    @field_validator("cart_path", "canonical")
    @classmethod
    def _page_ok(cls, value: str | None) -> str | None:
        return value if value is None else _paths([value])[0]

    @field_validator("email_origin")
    @classmethod
    def _origin_ok(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("/") or _url_problem(value)):
            raise ValueError(f"{value!r} is not an origin such as 'https://shop.example'")
        return value

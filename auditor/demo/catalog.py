"""The demo shop's products: a fixed catalogue, prices in cents."""

from __future__ import annotations

from dataclasses import dataclass

CURRENCY = "USD"


@dataclass(frozen=True)
class Product:
    """One product for sale; `digital` products are delivered as a download."""

    slug: str
    name: str
    price_cents: int
    digital: bool
    summary: str
    description: str
    image: str  # file stem under static/images/: <image>.svg (large) and <image>-sm.svg

    @property
    def price(self) -> str:
        """The price as shown on pages, e.g. "24.00"."""
        return format_cents(self.price_cents)


PRODUCTS: tuple[Product, ...] = (
    Product(
        slug="canvas-tote-bag",
        name="Canvas Tote Bag",
        price_cents=2400,
        digital=False,
        summary="Heavy cotton canvas, long handles, room for a laptop.",
        description=(
            "Our everyday bag, cut from 12 oz organic cotton canvas with reinforced handles "
            "and an inside pocket. Ships in 2-3 business days."
        ),
        image="tote",
    ),
    Product(
        slug="the-complete-course",
        name="The Complete Course (e-book)",
        price_cents=49700,
        digital=True,
        summary="Twelve chapters, worksheets and checklists, as a PDF.",
        description=(
            "Everything we know about running a small online shop: sourcing, pricing, "
            "checkout, email and support. Delivered instantly as a PDF download."
        ),
        image="course",
    ),
    Product(
        slug="enamel-mug",
        name="Enamel Camp Mug",
        price_cents=1800,
        digital=False,
        summary="Speckled enamel steel, 350 ml, dishwasher safe.",
        description=(
            "A light, unbreakable mug for the desk or the trail. Enamel over steel, "
            "with a rolled stainless rim. Ships in 2-3 business days."
        ),
        image="mug",
    ),
)

BY_SLUG: dict[str, Product] = {p.slug: p for p in PRODUCTS}


def format_cents(cents: int) -> str:
    """12345 -> "123.45"."""
    return f"{cents // 100}.{cents % 100:02d}"

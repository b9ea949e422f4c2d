"""Where and how the release is offered: deals become album and track products."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from importlib.resources import files
from operator import attrgetter

import pycountry

from stardust_git.models import Deal, Release, Track
from stardust_git.render import RenderError
from stardust_git.render.apple.spec import STORE_TERRITORIES_RESOURCE, WORLDWIDE

# Use types that make a territory cleared for sale (a download) or for streaming. Conditional and
# tethered downloads are the offline copies of a subscription, so they count as streaming.
DOWNLOAD_USES = frozenset({"PermanentDownload", "Download"})
STREAM_USES = frozenset(
    {
        "OnDemandStream",
        "NonInteractiveStream",
        "Stream",
        "ContentInfluencedStream",
        "TimeInfluencedStream",
        "ConditionalDownload",
        "TetheredDownload",
    }
)

# Pre-orders (Apple Music package spec 5.3, "Pre-Orders"): the album product's
# preorder_sales_start_date opens the pre-order; each track of a pre-ordered album says its
# preorder_type ("instant-gratification" or "standard"). These names come from public delivery
# code written against the spec (a Merlin Bridge delivery tool) and Apple's partner article on
# pre-releases, not from Apple's spec text itself, which the project has no copy of.
PRODUCT_DATES = (
    "sales_start_date",
    "preorder_sales_start_date",
    "stream_start_date",
    "sales_end_date",
)

# --- products --------------------------------------------------------------------------------
#
# Sources for the product form (read 2026-12-06):
# - Apple's music package specification 5.3 (https://help.apple.com/itc/musicspec/) describes
#   <products> on the album and on each track; its annotated album example and Apple's rights
#   and pricing article (https://itunespartner.apple.com/music/support/5222-rights-pricing-basics)
#   set rights per country or region, "WW" standing for every one of them.
# - Public delivery code written against 5.3 (a Merlin Bridge delivery tool) sends one WW
#   product on the album and on every track, and leaves preorder_sales_start_date off track
#   products ("ITMS-4020: Preorder date is not allowed on this offer").
# - Apple sells only where it has a store front: data/apple-store-territories.json lists them
#   (with its sources). ISO codes without a store (AQ, BV, HM, ...) are never written.


@dataclass(frozen=True)
class Product:
    """Availability in one store territory, or in all of them (``WW``)."""

    territory: str
    cleared_for_sale: bool
    cleared_for_stream: bool
    sales_start_date: dt.date | None = None
    preorder_sales_start_date: dt.date | None = None
    stream_start_date: dt.date | None = None
    sales_end_date: dt.date | None = None
    wholesale_price_tier: str | None = None


@cache
def store_territories() -> frozenset[str]:
    """The countries and regions with an Apple store front (the packaged list)."""
    data = json.loads(files("stardust_git").joinpath(STORE_TERRITORIES_RESOURCE).read_bytes())
    return frozenset(data["territories"])


def territory_countries(code: str) -> frozenset[str]:
    """The store territories a DDEX territory code stands for (empty for a country Apple has no
    store in)."""
    if code == "Worldwide":
        return store_territories()
    if re.fullmatch(r"[A-Z]{2}", code):
        return frozenset({code}) & store_territories()
    country = pycountry.countries.get(numeric=code.zfill(3)) if code.isdigit() else None
    if country is None:
        raise RenderError(
            f"territory '{code}' is not a country; Apple needs ISO country codes or Worldwide",
            ("deals",),
        )
    return frozenset({country.alpha_2}) & store_territories()


def deal_countries(deal: Deal) -> frozenset[str]:
    included = frozenset().union(*(territory_countries(code) for code in deal.territories))
    excluded = frozenset().union(*(territory_countries(c) for c in deal.excluded_territories))
    return included - excluded


def deals_by_country(deals: Iterable[Deal]) -> dict[str, list[Deal]]:
    found: dict[str, list[Deal]] = defaultdict(list)
    for deal in deals:
        for country in deal_countries(deal):
            found[country].append(deal)
    return dict(sorted(found.items()))


def products_for(deals: Sequence[Deal], today: dt.date) -> list[Product]:
    """One product per store territory any deal names, or one WW product when the terms are the
    same in every store territory; deals that ended before ``today`` clear nothing."""
    products = [_product(country, here, today) for country, here in deals_by_country(deals).items()]
    return worldwide_or_each(products)


def worldwide_or_each(products: list[Product]) -> list[Product]:
    """``products`` as one WW product when they cover every store territory on the same terms."""
    if {product.territory for product in products} != store_territories():
        return products
    terms = {_terms(product) for product in products}  # no copy of each: 175 territories
    return [replace(products[0], territory=WORLDWIDE)] if len(terms) == 1 else products


_terms = attrgetter(*(field.name for field in fields(Product) if field.name != "territory"))
"""A product's terms: everything but its territory."""


def track_products(album_products: list[Product]) -> list[Product]:
    """A track's products: the album's, without the pre-order date (Apple refuses it on a track,
    ITMS-4020) and without the album's price tier (Apple prices a track itself when none is
    given)."""
    return [
        replace(product, preorder_sales_start_date=None, wholesale_price_tier=None)
        for product in album_products
    ]


def _product(country: str, deals: list[Deal], today: dt.date) -> Product:
    live = [deal for deal in deals if deal.end_date is None or deal.end_date >= today]
    sales = [deal for deal in live if DOWNLOAD_USES.intersection(deal.use_types)]
    streams = [deal for deal in live if STREAM_USES.intersection(deal.use_types)]
    if not sales and not streams:
        return Product(country, False, False)
    sale_start = min((deal.start_date for deal in sales), default=None)
    stream_start = min((deal.start_date for deal in streams), default=None)
    start = sale_start or stream_start
    ends = [deal.end_date for deal in sales + streams]
    return Product(
        territory=country,
        cleared_for_sale=bool(sales),
        cleared_for_stream=bool(streams),
        sales_start_date=start,
        preorder_sales_start_date=preorder_start(sales + streams),
        stream_start_date=stream_start if stream_start and stream_start != start else None,
        sales_end_date=max(ends) if all(ends) else None,  # type: ignore[type-var]
        wholesale_price_tier=next((d.price_tier for d in sales if d.price_tier), None),
    )


def preorder_start(deals: Sequence[Deal]) -> dt.date | None:
    """The earliest day a pre-order opens among ``deals``; None without a pre-order."""
    return min((deal.preorder_date for deal in deals if deal.preorder_date), default=None)


def preorder_type(release: Release, track: Track) -> str | None:
    """A track's pre-order type when the release has a pre-order: "instant-gratification" (the
    buyer gets it at once) or "standard" (delivered on the street date)."""
    if preorder_start(release.deals) is None:
        return None
    return "instant-gratification" if track.instant_grat else "standard"


def takedown_products(deals: Sequence[Deal]) -> list[Product]:
    """Every store territory the deals named (WW without deals, or when they named them all),
    cleared for nothing."""
    countries = deals_by_country(deals) or store_territories()
    return worldwide_or_each([Product(country, False, False) for country in sorted(countries)])

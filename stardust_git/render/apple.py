"""Apple Music packages (iTunes Package Music Specification 5.3).

A package is the folder ``{vendor_id}.itmsp/`` holding ``metadata.xml`` (UTF-8, no BOM) and the
files it names: the cover ``{UPC}.jpg`` and the audio ``{UPC}_{disc:02}_{track:03}.{ext}``, each
with its size and MD5 in the XML. Deals become products on the album and on every track (one per
store territory, or one WW product; see "products" below): cleared for sale where a download
deal runs, cleared for stream where a streaming deal runs. A takedown clears every product for
neither and sends no files; a metadata-only update (``include_assets=False``) sends
the XML without its file elements.

The checks of a rendered package (XSD, files, vendor id) live in :mod:`stardust_git.checks.apple`.

The XML has no volatile field, so the fingerprint is the SHA-256 of the full rendering (with the
file elements, whatever ``include_assets`` says): a changed asset changes it, a re-render does not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from pathlib import Path

import pycountry
from lxml import etree

from stardust_git import assets, vocabulary
from stardust_git.genre_tools import APPLE_MAP
from stardust_git.models import Artist, Deal, Release, Target, Track
from stardust_git.render import Action, Package, PackageFile, RenderContext, RenderError, target_of
from stardust_git.render.genres import genre_loc, map_genre, release_label
from stardust_git.source.catalog import Catalog, Loaded

NAMESPACE = "http://apple.com/itunes/importer"
SPEC_VERSION = "music5.3"
FORMAT = "apple/5.3"
SCHEMA_RESOURCE = "data/apple-music5.3.xsd"
STORE_TERRITORIES_RESOURCE = "data/apple-store-territories.json"
WORLDWIDE = "WW"
METADATA_FILE = "metadata.xml"
MAX_TRACKS = 500
MIN_COVER_EDGE = 3000
# Apple's audio requirements: lossless masters, 44.1 kHz or more, 16-bit or more, stereo.
LOSSLESS_CODECS = frozenset({"PCM", "FLAC"})
MIN_SAMPLE_RATE = 44_100
MIN_BITS_PER_SAMPLE = 16
VENDOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")

Loc = tuple[str | int, ...]
"""Where in a release file a problem lies, e.g. ``("tracks", 0, "audio")``."""

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "wav": "wav", "flac": "flac", "mp3": "mp3"}

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

EXPLICIT_CONTENT = {"Explicit": "explicit", "ExplicitContentEdited": "clean"}

# DDEX display artist role -> Apple role and whether the artist is a primary artist.
DISPLAY_ROLES = {
    "MainArtist": ("Performer", True),
    "Artist": ("Performer", True),
    "FeaturedArtist": ("Featuring", False),
    "Composer": ("Composer", False),
}
# DDEX 4.3 contributor roles whose Apple name is not just the words of the DDEX name.
APPLE_ROLE_NAMES = {
    "StudioProducer": "Producer",
    "AdditionalStudioProducer": "Additional Producer",
    "ComposerLyricist": "Songwriter",
    "MusicPublisher": "Publisher",
    "Vocalist": "Vocals",
    "LeadVocalist": "Lead Vocals",
    "BackgroundVocalist": "Background Vocals",
}


# --- the package -----------------------------------------------------------------------------


def render_apple_package(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    action: Action,
    context: RenderContext,
    *,
    include_assets: bool = True,
) -> Package:
    """The package one delivery of ``loaded`` to the apple target ``target_name`` sends.

    ``include_assets=False`` renders a metadata-only update: no files beside ``metadata.xml``
    and no file elements in it (the deliver engine decides, from what was sent before).
    """
    target = apple_target(catalog, target_name)
    release = loaded.model
    vendor_id = vendor_id_of(target, release)
    folder = f"{vendor_id}.itmsp/"
    if action == "takedown":
        resources: tuple[PackageFile, ...] = ()
        full = takedown_xml(target, release, vendor_id)
        sent = full
    else:
        asset_files = package_assets(catalog.root, release, folder)
        album = AlbumInput(catalog, loaded, target_name, target, vendor_id, _today(context))
        full = album_xml(album, asset_files)
        sent = full if include_assets else album_xml(album, None)
        resources = asset_files.all() if include_assets else ()
    message = PackageFile(
        folder + METADATA_FILE,
        "message",
        len(sent),
        hashlib.md5(sent, usedforsecurity=False).hexdigest(),
        data=sent,
    )
    return Package(
        upc=release.upc,
        target=target_name,
        action=action,
        format=FORMAT,
        release_id=vendor_id,
        message_id=f"{vendor_id}-{context.commit[:12]}",
        files=(*resources, message),
        fingerprint=hashlib.sha256(full).hexdigest(),
        assets_included=bool(resources),
    )


def apple_target(catalog: Catalog, target_name: str) -> Target:
    target = target_of(catalog, target_name)
    if target.format != "apple":
        raise RenderError(f"target '{target_name}' is not an apple target")
    return target


def vendor_id_of(target: Target, release: Release) -> str:
    """The package's vendor id: the target's prefix and the UPC."""
    return target.vendor_id_prefix + release.upc


def _today(context: RenderContext) -> dt.date:
    return context.today or context.committed_at.date()


@dataclass(frozen=True)
class PackageAssets:
    """The files of a full package: the cover, then the audio of each track in order."""

    cover: PackageFile
    audio: tuple[PackageFile, ...]

    def all(self) -> tuple[PackageFile, ...]:
        return (self.cover, *self.audio)


def package_assets(root: Path, release: Release, folder: str) -> PackageAssets:
    cover = _resource(root, release.cover, folder + release.upc, ("cover",))
    positions = track_positions(release.tracks)
    audio = []
    for index, (track, (disc, number)) in enumerate(zip(release.tracks, positions, strict=True)):
        stem = f"{folder}{release.upc}_{disc:02}_{number:03}"
        audio.append(_resource(root, track.audio, stem, ("tracks", index, "audio")))
    return PackageAssets(cover, tuple(audio))


def _resource(root: Path, value: str, stem: str, loc: Loc) -> PackageFile:
    path = root / value
    if not path.resolve().is_relative_to(root.resolve()):
        raise RenderError(f"'{value}' is outside the repository", loc)
    try:
        kind = assets.sniff_type(path)
        extension = _EXTENSIONS.get(kind or "", path.suffix.lower().lstrip("."))
        return PackageFile(
            f"{stem}.{extension}", "resource", path.stat().st_size, assets.md5_file(path), path
        )
    except (assets.AssetError, OSError) as error:
        raise RenderError(f"cannot read '{value}': {_reason(error)}", loc) from None


def _reason(error: Exception) -> str:
    return error.reason if isinstance(error, assets.AssetError) else str(error)


def track_positions(tracks: Sequence[Track]) -> list[tuple[int, int]]:
    """(disc, number on that disc) of each track, counting in catalog order."""
    counts: dict[int, int] = defaultdict(int)
    positions = []
    for track in tracks:
        counts[track.disc] += 1
        positions.append((track.disc, counts[track.disc]))
    return positions


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
    terms = {replace(product, territory=WORLDWIDE) for product in products}
    return list(terms) if len(terms) == 1 else products


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


# --- genres ----------------------------------------------------------------------------------


def genre_code(
    catalog: Catalog,
    target_name: str,
    loaded: Loaded[Release],
    code: str,
    track_index: int | None = None,
) -> str:
    """The Apple genre code for a canonical genre (the release's, or track ``track_index``'s),
    through the target's map (strict or fallback).

    An apple target without ``genre_map`` uses the map called "apple".
    """
    target = catalog.targets[target_name].model
    label = release_label(loaded, target_name)
    value = map_genre(catalog, target, code, label, track_index)
    if value is None:
        raise RenderError(
            f"apple target '{target_name}' has no genre map: set genre_map, or add "
            f"genre-maps/{APPLE_MAP}.yaml",
            genre_loc(track_index),
        )
    return value


# --- artists ---------------------------------------------------------------------------------


@dataclass
class Credit:
    """One artist element: a name with every role it holds."""

    name: str
    roles: list[str]
    primary: bool


def apple_contributor_role(role: str) -> str:
    """Apple's name for a DDEX contributor role or friendly alias ("MixingEngineer" -> "Mixing
    Engineer")."""
    ddex = vocabulary.contributor_role(role, "4.3") or role
    return APPLE_ROLE_NAMES.get(ddex) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", ddex)


def artist_credits(artists: Iterable[Artist]) -> list[Credit]:
    credits: dict[str, Credit] = {}
    for artist in artists:
        role, primary = DISPLAY_ROLES.get(artist.role, ("Performer", False))
        _credit(credits, artist.name, role, primary)
    return list(credits.values())


def track_credits(release: Release, track: Track) -> list[Credit]:
    """The track's artists, then its contributors; one credit per name, roles merged."""
    credits = {credit.name: credit for credit in artist_credits(track.artists or release.artists)}
    for contributor in track.contributors:
        _credit(credits, contributor.name, apple_contributor_role(contributor.role), False)
    return list(credits.values())


def _credit(credits: dict[str, Credit], name: str, role: str, primary: bool) -> None:
    credit = credits.setdefault(name, Credit(name, [], primary))
    credit.primary = credit.primary or primary
    if role not in credit.roles:
        credit.roles.append(role)


# --- XML -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlbumInput:
    """Everything a full metadata.xml is rendered from, besides the asset files."""

    catalog: Catalog
    loaded: Loaded[Release]
    target_name: str
    target: Target
    vendor_id: str
    today: dt.date


def _add(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _package_root(
    target: Target, release: Release, vendor_id: str
) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(
        f"{{{NAMESPACE}}}package", {"version": SPEC_VERSION}, nsmap={None: NAMESPACE}
    )
    _add(root, "language", release.language)
    _add(root, "provider", target.provider or "")
    album = _add(root, "album")
    _add(album, "vendor_id", vendor_id)
    _add(album, "upc", release.upc)
    return root, album


def serialise(root: etree._Element) -> bytes:
    """UTF-8 without BOM, two-space indents, a double-quoted declaration, a final newline."""
    etree.indent(root, space="  ")
    return _XML_DECLARATION + etree.tostring(root, encoding="UTF-8") + b"\n"


def takedown_xml(target: Target, release: Release, vendor_id: str) -> bytes:
    root, album = _package_root(target, release, vendor_id)
    _add_products(album, takedown_products(release.deals))
    return serialise(root)


def album_xml(album_input: AlbumInput, asset_files: PackageAssets | None) -> bytes:
    """The full metadata.xml; without ``asset_files`` it names no files (metadata-only)."""
    release = album_input.loaded.model
    root, album = _package_root(album_input.target, release, album_input.vendor_id)
    _add(album, "title", display_title(release.title, release.version))
    _add(
        album,
        "original_release_date",
        (release.original_release_date or release.release_date).isoformat(),
    )
    _add(album, "label_name", release.label)
    album_genre = genre_code(
        album_input.catalog, album_input.target_name, album_input.loaded, release.genre
    )
    _add_genres(album, [album_genre])
    _add(album, "copyright_pline", f"{release.p_line.year} {release.p_line.owner}")
    _add(album, "copyright_cline", f"{release.c_line.year} {release.c_line.owner}")
    if asset_files:
        _add_file(_add(album, "artwork_files"), "file", asset_files.cover)
    _add(album, "track_count", str(len(release.tracks)))
    _add(album, "explicit_content", explicit_content(release.parental_warning))
    products = products_for(release.deals, album_input.today)
    if not products:
        raise RenderError("no deal names a territory where Apple has a store", ("deals",))
    _add_products(album, products)
    _add_credits(album, artist_credits(release.artists))
    tracks = _add(album, "tracks")
    for index, position in enumerate(track_positions(release.tracks)):
        audio = asset_files.audio[index] if asset_files else None
        _add_track(tracks, album_input, index, position, album_genre, audio, products)
    return serialise(root)


def display_title(title: str, version: str | None) -> str:
    """Apple shows a version in parentheses after the title."""
    return f"{title} ({version})" if version else title


def explicit_content(parental_warning: str) -> str:
    return EXPLICIT_CONTENT.get(parental_warning, "none")


def _add_genres(parent: etree._Element, codes: list[str]) -> None:
    genres = _add(parent, "genres")
    for code in codes:
        _add(genres, "genre", code=code)


def _add_file(parent: etree._Element, tag: str, file: PackageFile) -> None:
    element = _add(parent, tag)
    _add(element, "file_name", file.name.rsplit("/", 1)[-1])
    _add(element, "size", str(file.size))
    _add(element, "checksum", file.md5, type="md5")


def _add_products(owner: etree._Element, products: list[Product]) -> None:
    parent = _add(owner, "products")
    for product in products:
        element = _add(parent, "product")
        _add(element, "territory", product.territory)
        _add(element, "cleared_for_sale", _bool(product.cleared_for_sale))
        _add(element, "cleared_for_stream", _bool(product.cleared_for_stream))
        for tag in PRODUCT_DATES:
            value: dt.date | None = getattr(product, tag)
            if value:
                _add(element, tag, value.isoformat())
        if product.wholesale_price_tier:
            _add(element, "wholesale_price_tier", product.wholesale_price_tier)


def _add_credits(parent: etree._Element, credits: list[Credit]) -> None:
    artists = _add(parent, "artists")
    for credit in credits:
        artist = _add(artists, "artist")
        _add(artist, "artist_name", credit.name)
        roles = _add(artist, "roles")
        for role in credit.roles:
            _add(roles, "role", role)
        _add(artist, "primary", _bool(credit.primary))


def _add_track(
    tracks: etree._Element,
    album_input: AlbumInput,
    index: int,
    position: tuple[int, int],
    album_genre: str,
    audio: PackageFile | None,
    album_products: list[Product],
) -> None:
    release = album_input.loaded.model
    track = release.tracks[index]
    disc, number = position
    element = _add(tracks, "track")
    _add(element, "isrc", track.isrc)
    _add(element, "title", display_title(track.title, track.version))
    _add(element, "track_number", str(number))
    _add(element, "volume_number", str(disc))
    _add(
        element,
        "explicit_content",
        explicit_content(track.parental_warning or release.parental_warning),
    )
    if track.genre:
        code = genre_code(
            album_input.catalog, album_input.target_name, album_input.loaded, track.genre, index
        )
        if code != album_genre:
            _add_genres(element, [code])
    if audio:
        _add_file(element, "audio_file", audio)
    if track.preview_start is not None:
        _add(element, "preview", starttime=str(track.preview_start))
    kind = preorder_type(release, track)
    if kind:
        _add(element, "preorder_type", kind)
    _add_products(element, track_products(album_products))
    _add_credits(element, track_credits(release, track))

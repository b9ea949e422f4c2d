"""The metadata.xml of a package: the full album, or the takedown form."""

from __future__ import annotations

import datetime as dt
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree

from stardust_git.genre_tools import APPLE_MAP
from stardust_git.models import Release, Target
from stardust_git.render import PackageFile, RenderError, hooks
from stardust_git.render.apple.credits import Credit, artist_credits, track_credits
from stardust_git.render.apple.files import PackageAssets
from stardust_git.render.apple.products import (
    PRODUCT_DATES,
    Product,
    preorder_type,
    products_for,
    takedown_products,
    track_products,
)
from stardust_git.render.apple.spec import NAMESPACE, SPEC_VERSION, XML_DECLARATION
from stardust_git.render.genres import genre_loc, map_genre, release_label
from stardust_git.render.shared import TrackPosition, track_order
from stardust_git.source.catalog import Catalog, Loaded

EXPLICIT_CONTENT = {"Explicit": "explicit", "ExplicitContentEdited": "clean"}


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


def serialise(root: etree._Element, release: Release, target: Target) -> bytes:
    """The message after the installed render hooks (:mod:`stardust_git.render.hooks`): UTF-8
    without BOM, two-space indents, a double-quoted declaration, a final newline."""
    hooks.run_hooks(root, release, target)
    etree.indent(root, space="  ")
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8") + b"\n"


def takedown_xml(target: Target, release: Release, vendor_id: str) -> bytes:
    root, album = _package_root(target, release, vendor_id)
    _add_products(album, takedown_products(release.deals))
    return serialise(root, release, target)


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
    every_track = track_products(products)
    first: etree._Element | None = None
    for sequence, position in enumerate(track_order(release.tracks)):
        audio = asset_files.audio[sequence] if asset_files else None
        first = _add_track(tracks, album_input, position, album_genre, audio, every_track, first)
    return serialise(root, release, album_input.target)


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


def _add_products(owner: etree._Element, products: list[Product]) -> etree._Element:
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
    return parent


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
    position: TrackPosition,
    album_genre: str,
    audio: PackageFile | None,
    products: list[Product],
    same: etree._Element | None,
) -> etree._Element:
    """Add a track; its products element, the same for every track (``same``: the first
    track's, copied: building those elements again was most of an Apple render)."""
    release = album_input.loaded.model
    index, disc, number = position
    track = release.tracks[index]
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
    if same is None:
        same = _add_products(element, products)
    else:
        element.append(deepcopy(same))
    _add_credits(element, track_credits(release, track))
    return same

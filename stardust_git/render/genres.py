"""Genres as a target receives them: the canonical genre mapped through the target's genre map.

The map is the target's ``genre_map``, or for an apple target without one the map called
"apple". A genre maps as :func:`~stardust_git.genre_tools.resolve_genre` says: its own value,
else its nearest mapped ancestor's, else the target's ``genre_fallback`` or the map's
``fallback``. With ``genre_strict`` an unmapped genre is an error instead of a fallback. Both the
ERN and the Apple renderers use :func:`map_genre`.
"""

from __future__ import annotations

from dataclasses import dataclass

from stardust_git.genre_tools import map_name_for_target, resolve_genre
from stardust_git.models import Release, Target
from stardust_git.render import RenderError
from stardust_git.source.catalog import Catalog, Loaded

Loc = tuple[str | int, ...]


class GenreMappingError(RenderError):
    """A genre the target's genre map cannot place (strict mode, or no fallback at all)."""

    def __init__(self, message: str, genre: str, loc: Loc = ("genre",)) -> None:
        super().__init__(message, loc)
        self.genre = genre


@dataclass(frozen=True)
class GenreValue:
    """A genre as DDEX writes it: GenreText and an optional SubGenre."""

    text: str
    sub: str | None = None


def release_label(loaded: Loaded[Release], target_name: str) -> str:
    """How a genre error names what was rendered: "release UPC (path), target 'name'"."""
    return f"release {loaded.model.upc} ({loaded.path}), target '{target_name}'"


def genre_loc(track_index: int | None = None) -> Loc:
    """The release field holding the genre: the release's own, or track ``track_index``'s."""
    return ("genre",) if track_index is None else ("tracks", track_index, "genre")


def map_genre(
    catalog: Catalog,
    target: Target,
    genre_code: str,
    release_label: str | None = None,
    track_index: int | None = None,
) -> str | None:
    """The target vocabulary's value for ``genre_code``; None when the target has no genre map.

    Raises GenreMappingError (at :func:`genre_loc`, its message ending in ``release_label``)
    when the map is missing, or the genre (and every ancestor) is unmapped and the target is
    strict or has no fallback.
    """
    map_name = map_name_for_target(catalog, target)
    if map_name is None:
        return None

    def error(message: str) -> GenreMappingError:
        where = f"; {release_label}" if release_label else ""
        return GenreMappingError(message + where, genre_code, genre_loc(track_index))

    loaded = catalog.genre_maps.get(map_name)
    if loaded is None:
        raise error(f"unknown genre map '{map_name}'")
    taxonomy = catalog.taxonomy.model if catalog.taxonomy else None
    resolution = resolve_genre(taxonomy, loaded.model, genre_code, target.genre_fallback)
    if resolution.mapped:
        return resolution.value
    if target.genre_strict:
        raise error(
            f"genre {genre_code} has no mapping in genre map '{map_name}' "
            "(nor has any parent genre) and the target is strict"
        )
    if resolution.value is None:
        raise error(
            f"genre {genre_code} has no mapping in genre map '{map_name}' and there is "
            "no fallback (set genre_fallback on the target or fallback on the map)"
        )
    return resolution.value


def genre_value(
    catalog: Catalog,
    target: Target,
    genre_code: str,
    release_label: str | None = None,
    track_index: int | None = None,
) -> GenreValue:
    """GenreText/SubGenre for ERN: a mapped value under a parent entry becomes parent + sub-genre;
    without a map the canonical taxonomy's names are used the same way. Errors as
    :func:`map_genre`."""
    mapped = map_genre(catalog, target, genre_code, release_label, track_index)
    if mapped is not None:
        return _vocabulary_value(catalog, target, mapped)
    return _taxonomy_value(catalog, genre_code)


def _vocabulary_value(catalog: Catalog, target: Target, value: str) -> GenreValue:
    genre_map = catalog.genre_maps[map_name_for_target(catalog, target) or ""].model
    vocabulary = catalog.vocabularies.get(genre_map.vocabulary)
    entry = vocabulary.model.entries.get(value) if vocabulary else None
    if entry is None or entry.parent is None:
        return GenreValue(value)
    return GenreValue(entry.parent, entry.name)


def _taxonomy_value(catalog: Catalog, code: str) -> GenreValue:
    genres = catalog.taxonomy.model.genres if catalog.taxonomy else {}
    genre = genres.get(code)
    if genre is None:
        return GenreValue(code.replace("_", " ").title())
    parent = genres.get(genre.parent) if genre.parent else None
    if parent is None:
        return GenreValue(genre.name)
    return GenreValue(parent.name, genre.name)

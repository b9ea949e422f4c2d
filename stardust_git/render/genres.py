"""Genres as a target receives them: the canonical genre mapped through the target's genre map.

A genre maps to the map's value for it, else to its nearest mapped ancestor's, else to the
target's ``genre_fallback`` or the map's ``fallback``. With ``genre_strict`` an unmapped genre is
an error instead of a fallback. Both the ERN and the Apple renderers use :func:`map_genre`.
"""

from __future__ import annotations

from dataclasses import dataclass

from stardust_git.catalog import Catalog
from stardust_git.models import Target
from stardust_git.render import RenderError


class GenreMappingError(RenderError):
    """A genre the target's genre map cannot place (strict mode, or no fallback at all)."""

    def __init__(self, message: str, genre: str, loc: tuple[str | int, ...] = ("genre",)) -> None:
        super().__init__(message, loc)
        self.genre = genre


@dataclass(frozen=True)
class GenreValue:
    """A genre as DDEX writes it: GenreText and an optional SubGenre."""

    text: str
    sub: str | None = None


def map_genre(catalog: Catalog, target: Target, genre_code: str) -> str | None:
    """The target vocabulary's value for ``genre_code``; None when the target has no genre map.

    Raises GenreMappingError when the map is missing, or the genre (and every ancestor) is
    unmapped and the target is strict or has no fallback.
    """
    if not target.genre_map:
        return None
    loaded = catalog.genre_maps.get(target.genre_map)
    if loaded is None:
        raise GenreMappingError(f"unknown genre map '{target.genre_map}'", genre_code)
    genre_map = loaded.model
    for code in (genre_code, *_ancestors(catalog, genre_code)):
        if code in genre_map.mappings:
            return genre_map.mappings[code]
    if target.genre_strict:
        raise GenreMappingError(
            f"genre {genre_code} has no mapping in genre map '{target.genre_map}' "
            "(nor has any parent genre) and the target is strict",
            genre_code,
        )
    fallback = target.genre_fallback or genre_map.fallback
    if fallback is None:
        raise GenreMappingError(
            f"genre {genre_code} has no mapping in genre map '{target.genre_map}' and there is "
            "no fallback (set genre_fallback on the target or fallback on the map)",
            genre_code,
        )
    return fallback


def genre_value(catalog: Catalog, target: Target, genre_code: str) -> GenreValue:
    """GenreText/SubGenre for ERN: a mapped value under a parent entry becomes parent + sub-genre;
    without a map the canonical taxonomy's names are used the same way."""
    mapped = map_genre(catalog, target, genre_code)
    if mapped is not None:
        return _vocabulary_value(catalog, target, mapped)
    return _taxonomy_value(catalog, genre_code)


def _ancestors(catalog: Catalog, code: str) -> list[str]:
    return catalog.taxonomy.model.ancestors(code) if catalog.taxonomy else []


def _vocabulary_value(catalog: Catalog, target: Target, value: str) -> GenreValue:
    genre_map = catalog.genre_maps[target.genre_map or ""].model
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

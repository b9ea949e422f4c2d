"""A genre as a shop received it, mapped back to the catalog's canonical taxonomy.

Looked up in this order: a canonical code, a taxonomy name or alias, then any value a genre map
sends (a DSP value several codes share is a guess). What matches nothing gets the closest
taxonomy name as a suggestion and no code.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass

from stardust_git.models.genres import GenreTaxonomy
from stardust_git.source.catalog import Catalog


@dataclass(frozen=True)
class GenreMatch:
    """What a shop's genre text maps back to."""

    code: str | None
    """The canonical code, or None when nothing matched."""
    guessed: bool = False
    """True when several codes share the matched value (the first is taken) or none matched."""
    suggestion: str | None = None
    """For an unmatched text: the closest canonical code, to name in the warning."""


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").casefold().split())


class GenreLookup:
    """Canonical codes by every spelling the catalog knows."""

    def __init__(self, taxonomy: GenreTaxonomy | None, map_values: dict[str, list[str]]) -> None:
        self._exact: dict[str, str] = {}
        for code, genre in taxonomy.genres.items() if taxonomy else ():
            for spelling in (code, genre.name, *genre.aliases):
                self._exact.setdefault(_key(spelling), code)
        self._mapped = {_key(value): codes for value, codes in map_values.items()}

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> GenreLookup:
        """The lookup of ``catalog``'s taxonomy and every genre map in it."""
        taxonomy = catalog.taxonomy.model if catalog.taxonomy else None
        map_values: dict[str, list[str]] = defaultdict(list)
        for name in sorted(catalog.genre_maps):
            for code, value in catalog.genre_maps[name].model.mappings.items():
                if code not in map_values[value]:
                    map_values[value].append(code)
        return cls(taxonomy, map_values)

    def match(self, text: str, sub: str | None = None) -> GenreMatch:
        """The code for GenreText ``text`` with SubGenre ``sub`` (the sub-genre is more precise)."""
        candidates = [f"{text} > {sub}", sub, text] if sub else [text]
        for candidate in candidates:
            found = self._find(candidate) if candidate else None
            if found:
                return found
        return GenreMatch(None, True, self._closest(sub or text))

    def _find(self, text: str) -> GenreMatch | None:
        key = _key(text)
        if key in self._exact:
            return GenreMatch(self._exact[key])
        codes = self._mapped.get(key)
        if codes:
            return GenreMatch(codes[0], guessed=len(codes) > 1)
        return None

    def _closest(self, text: str) -> str | None:
        found = difflib.get_close_matches(_key(text), list(self._exact), n=1, cutoff=0.6)
        return self._exact[found[0]] if found else None

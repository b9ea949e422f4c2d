"""Genre-map tooling: how a canonical genre maps, what a map misses, and what could fill the gaps.

Pure functions over a loaded :class:`~stardust_git.source.catalog.Catalog`. A genre is *mapped* when
the map names it or one of its ancestors; otherwise the map's fallback (if any) covers it, and
without a fallback it is *unmapped*.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import yaml

from stardust_git.errors import UserError, closest, did_you_mean
from stardust_git.models import GenreMap, GenreTaxonomy, GenreVocabulary, Release, Target
from stardust_git.source.catalog import Catalog, Loaded

#: The map an apple target uses when it names none (if genre-maps/apple.yaml exists).
APPLE_MAP = "apple"

MapSource = Literal["direct", "ancestor", "fallback", "unmapped"]

#: How much an ancestor's name counts in a suggestion, per generation up.
PARENT_WEIGHT = 0.85
SUGGEST_CUTOFF = 0.6
SUGGEST_LIMIT = 3


@dataclass(frozen=True)
class GenreResolution:
    """How one canonical genre maps through one map."""

    genre: str
    value: str | None
    """The vocabulary code written into the message; None when unmapped."""
    source: MapSource
    via: str | None = None
    """The genre whose mapping was used (the genre itself or an ancestor)."""

    @property
    def mapped(self) -> bool:
        """Mapped by the genre itself or an ancestor (the fallback does not count)."""
        return self.source in ("direct", "ancestor")


def resolve_genre(
    taxonomy: GenreTaxonomy | None, genre_map: GenreMap, code: str, fallback: str | None = None
) -> GenreResolution:
    """The genre's own mapping, else its nearest mapped ancestor's, else the fallback.

    ``fallback`` (a target's ``genre_fallback``) overrides the map's own fallback. Without a
    taxonomy a genre has no ancestors. The renderers map through this too
    (:func:`stardust_git.render.genres.map_genre`).
    """
    if code in genre_map.mappings:
        return GenreResolution(code, genre_map.mappings[code], "direct", code)
    for ancestor in taxonomy.ancestors(code) if taxonomy else ():
        if ancestor in genre_map.mappings:
            return GenreResolution(code, genre_map.mappings[ancestor], "ancestor", ancestor)
    chosen = fallback or genre_map.fallback
    if chosen:
        return GenreResolution(code, chosen, "fallback")
    return GenreResolution(code, None, "unmapped")


def map_name_for_target(catalog: Catalog, target: Target) -> str | None:
    """The genre map a target renders with: its own, or for apple targets the "apple" map."""
    if target.genre_map:
        return target.genre_map
    if target.format == "apple" and APPLE_MAP in catalog.genre_maps:
        return APPLE_MAP
    return None


def targets_using_map(catalog: Catalog, map_name: str) -> tuple[str, ...]:
    return tuple(
        name
        for name, loaded in sorted(catalog.targets.items())
        if map_name_for_target(catalog, loaded.model) == map_name
    )


def release_genres(release: Release) -> list[str]:
    """The release's genre and its tracks' own genres, each once, in order."""
    found = [release.genre, *(track.genre for track in release.tracks if track.genre)]
    return list(dict.fromkeys(found))


# --- coverage ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AffectedRelease:
    """A release using a genre the map does not map."""

    genre: str
    upc: str
    title: str
    path: str
    targets: tuple[str, ...]
    """The release's targets that render with this map."""


@dataclass(frozen=True)
class MapCoverage:
    """Which canonical genres one map covers, and how."""

    name: str
    vocabulary: str
    fallback: str | None
    targets: tuple[str, ...]
    """Targets that render with this map."""
    direct: tuple[str, ...]
    via_ancestor: tuple[str, ...]
    fallback_only: tuple[str, ...]
    unmapped: tuple[str, ...]
    affected: tuple[AffectedRelease, ...]

    @property
    def total(self) -> int:
        return (
            len(self.direct) + len(self.via_ancestor) + len(self.fallback_only) + len(self.unmapped)
        )


def require_taxonomy(catalog: Catalog) -> GenreTaxonomy:
    if catalog.taxonomy is None:
        raise UserError("no genre taxonomy: genre-maps/genres.yaml is missing or invalid")
    return catalog.taxonomy.model


def require_map(catalog: Catalog, map_name: str) -> Loaded[GenreMap]:
    loaded = catalog.genre_maps.get(map_name)
    if loaded is not None:
        return loaded
    hint = did_you_mean(closest(map_name, catalog.genre_maps))
    known = ", ".join(sorted(catalog.genre_maps)) or "none"
    raise UserError(f"unknown genre map '{map_name}' (known: {known}){hint}")


def map_coverage(catalog: Catalog, map_name: str) -> MapCoverage:
    """How ``map_name`` covers every genre of the taxonomy, and the releases its gaps affect."""
    taxonomy = require_taxonomy(catalog)
    genre_map = require_map(catalog, map_name).model
    by_source: dict[MapSource, list[str]] = {
        "direct": [],
        "ancestor": [],
        "fallback": [],
        "unmapped": [],
    }
    for code in sorted(taxonomy.genres):
        by_source[resolve_genre(taxonomy, genre_map, code).source].append(code)
    gaps = set(by_source["fallback"]) | set(by_source["unmapped"])
    targets = targets_using_map(catalog, map_name)
    return MapCoverage(
        name=map_name,
        vocabulary=genre_map.vocabulary,
        fallback=genre_map.fallback,
        targets=targets,
        direct=tuple(by_source["direct"]),
        via_ancestor=tuple(by_source["ancestor"]),
        fallback_only=tuple(by_source["fallback"]),
        unmapped=tuple(by_source["unmapped"]),
        affected=tuple(sorted(_affected(catalog, gaps, targets), key=_affected_order)),
    )


def _affected(
    catalog: Catalog, gaps: set[str], targets: tuple[str, ...]
) -> Iterator[AffectedRelease]:
    for path, loaded in catalog.releases.items():
        release = loaded.model
        sent_to = tuple(name for name in release.targets if name in targets)
        if not sent_to:
            continue  # the map never sees this release's genres
        for genre in release_genres(release):
            if genre in gaps:
                yield AffectedRelease(genre, release.upc, release.title, path, sent_to)


def _affected_order(item: AffectedRelease) -> tuple[str, str, str]:
    return item.genre, item.upc, item.path


# --- suggestions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A vocabulary entry close to an unmapped genre."""

    code: str
    score: float
    """Similarity 0..1 (ancestor names count less)."""
    matched: str
    """The genre name, alias or ancestor name that matched."""


@dataclass(frozen=True)
class Suggestion:
    """The closest vocabulary entries for one genre without a mapping."""

    genre: str
    name: str
    candidates: tuple[Candidate, ...]


_WORD = re.compile(r"[a-z0-9]+")
#: Two words count as the same word from this similarity up ("psytrance" ~ "psy-trance").
WORD_MATCH = 0.8
#: An entry with more words than the genre name ("Trap / Future Bass" for "Trap") counts less.
EXTRA_WORDS_WEIGHT = 0.9


def genre_words(text: str) -> list[str]:
    """Lowercase words without accents, punctuation, "&" or the word "and"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return [word for word in _WORD.findall(plain) if word != "and"]


def normalise_genre_name(text: str) -> str:
    """The words of ``genre_words`` run together.

    ``"Drum & Bass"``, ``"Drum and Bass"`` and ``"drum-bass"`` all become ``"drumbass"``.
    """
    return "".join(genre_words(text))


def _ratio(left: str, right: str) -> float:
    return difflib.SequenceMatcher(None, left, right).ratio()


def _word_score(name: list[str], entry: list[str]) -> float:
    """Share of the name's words found (nearly) among the entry's words."""
    if not name or not entry:
        return 0.0
    found = 0.0
    for word in name:
        best = max(_ratio(word, other) for other in entry)
        found += best if best >= WORD_MATCH else 0.0
    share = found / len(name)
    return share * EXTRA_WORDS_WEIGHT if len(entry) > len(name) else share


def name_similarity(name: str, entry: str) -> float:
    """0..1: the mean of whole-string similarity and word overlap, after normalising both.

    Names equal once normalised score 1 however their words split ("Retrowave", "Retro Wave").
    """
    name_words, entry_words = genre_words(name), genre_words(entry)
    name_plain, entry_plain = "".join(name_words), "".join(entry_words)
    if name_plain == entry_plain:
        return 1.0
    return (_ratio(name_plain, entry_plain) + _word_score(name_words, entry_words)) / 2


def _genre_names(taxonomy: GenreTaxonomy, code: str) -> list[tuple[str, float]]:
    """The names a genre goes by, each with its weight: own name and aliases, then ancestors."""
    genre = taxonomy.genres[code]
    names = [(genre.name, 1.0), *((alias, 1.0) for alias in genre.aliases)]
    for depth, ancestor in enumerate(taxonomy.ancestors(code), start=1):
        names.append((taxonomy.genres[ancestor].name, PARENT_WEIGHT**depth))
    return names


def closest_entries(
    taxonomy: GenreTaxonomy,
    vocabulary: GenreVocabulary,
    code: str,
    limit: int = SUGGEST_LIMIT,
    cutoff: float = SUGGEST_CUTOFF,
) -> tuple[Candidate, ...]:
    """The vocabulary entries most like the genre's names, best first (ties by code)."""
    names = _genre_names(taxonomy, code)
    best: list[Candidate] = []
    for entry_code, entry in vocabulary.entries.items():
        score, matched = max(
            (
                (round(name_similarity(name, entry.name) * weight, 2), name)
                for name, weight in names
            ),
            key=lambda pair: pair[0],
        )
        if score >= cutoff:
            best.append(Candidate(entry_code, score, matched))
    best.sort(key=lambda candidate: (-candidate.score, candidate.code))
    return tuple(best[:limit])


def suggest_mappings(catalog: Catalog, map_name: str) -> list[Suggestion]:
    """For each genre the map does not map (fallback aside), the closest vocabulary entries."""
    taxonomy = require_taxonomy(catalog)
    genre_map = require_map(catalog, map_name).model
    vocabulary = catalog.vocabularies.get(genre_map.vocabulary)
    if vocabulary is None:
        raise UserError(f"genre map '{map_name}' uses unknown vocabulary '{genre_map.vocabulary}'")
    suggestions = []
    for code in sorted(taxonomy.genres):
        if resolve_genre(taxonomy, genre_map, code).mapped:
            continue
        candidates = closest_entries(taxonomy, vocabulary.model, code)
        suggestions.append(Suggestion(code, taxonomy.genres[code].name, candidates))
    return suggestions


def _yaml_entry(key: str, value: str) -> str:
    dumped: str = yaml.safe_dump({key: value}, allow_unicode=True, width=1_000_000)
    return dumped.strip()


def _describe(candidate: Candidate) -> str:
    return f'{candidate.score:.2f} from "{candidate.matched}"'


def suggestion_lines(suggestion: Suggestion) -> list[str]:
    """One ``mappings:`` entry (indented two spaces), or a comment when nothing is close."""
    if not suggestion.candidates:
        return [f"  # {suggestion.genre} ({suggestion.name}): no close entry"]
    first, *others = suggestion.candidates
    comment = _describe(first)
    if others:
        comment += "; or: " + ", ".join(f"{c.code} ({_describe(c)})" for c in others)
    return [f"  {_yaml_entry(suggestion.genre, first.code)}  # {comment}"]

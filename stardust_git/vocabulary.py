"""DDEX allowed values per ERN version, read from the XSD-derived ``data/ddex_vocabulary.json``.

The JSON is written by ``scripts/extract_vocabulary.py`` from the official XSDs; each set holds
exactly what the message XSD accepts at the element that uses it (``sources`` in the JSON says
which element and which AVS type). Lookups are frozenset membership on data loaded once.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib.resources import files

VERSIONS = ("3.8.2", "4.2", "4.3")
DEFAULT_VERSION = "4.3"

_ERN4 = ("4.2", "4.3")


def _everywhere(value: str) -> dict[str, str]:
    return dict.fromkeys(VERSIONS, value)


def _ern3_and_4(ern3: str, ern4: str) -> dict[str, str]:
    return {"3.8.2": ern3, **dict.fromkeys(_ERN4, ern4)}


# Friendly contributor-role names a label writes -> the DDEX value per version. The one place for
# them. An exact DDEX value of the version wins over an alias (so "Producer" stays "Producer" in
# 3.8.2, whose set has it, and becomes "StudioProducer" in 4.x, whose set does not). In 3.8.2,
# Composer, Lyricist, Arranger, MusicPublisher ... are IndirectResourceContributor roles (see
# is_indirect_contributor_role). Featured and main artists are "Artist" contributors in 4.x; the
# release's DisplayArtist carries FeaturedArtist/MainArtist there.
ROLE_ALIASES: Mapping[str, Mapping[str, str]] = {
    "Producer": _ern3_and_4("Producer", "StudioProducer"),
    "StudioProducer": _everywhere("StudioProducer"),
    "CoProducer": _everywhere("CoProducer"),
    "AdditionalProducer": _everywhere("AdditionalStudioProducer"),
    "ExecutiveProducer": _everywhere("ExecutiveProducer"),
    "VocalProducer": _everywhere("VocalProducer"),
    "Composer": _everywhere("Composer"),
    "Lyricist": _everywhere("Lyricist"),
    "Songwriter": _everywhere("ComposerLyricist"),
    "Writer": _everywhere("ComposerLyricist"),
    "ComposerLyricist": _everywhere("ComposerLyricist"),
    "Arranger": _everywhere("Arranger"),
    "Publisher": _everywhere("MusicPublisher"),
    "Mixer": _everywhere("Mixer"),
    "MixingEngineer": _everywhere("MixingEngineer"),
    "MixEngineer": _everywhere("MixingEngineer"),
    "Engineer": _everywhere("Engineer"),
    "SoundEngineer": _everywhere("Engineer"),
    "AudioEngineer": _everywhere("Engineer"),
    "RecordingEngineer": _everywhere("RecordingEngineer"),
    "MasteringEngineer": _everywhere("MasteringEngineer"),
    "Mastering": _everywhere("MasteringEngineer"),
    "Remixer": _everywhere("Remixer"),
    "FeaturedArtist": _ern3_and_4("FeaturedArtist", "Artist"),
    "Featuring": _ern3_and_4("FeaturedArtist", "Artist"),
    "MainArtist": _ern3_and_4("MainArtist", "Artist"),
    "Performer": _everywhere("Performer"),
    "Musician": _everywhere("Musician"),
    "SessionMusician": _everywhere("StudioMusician"),
    "Instrumentalist": _everywhere("Musician"),
    "Guitarist": _everywhere("Musician"),
    "Bassist": _everywhere("Musician"),
    "Drummer": _everywhere("Musician"),
    "Pianist": _everywhere("Musician"),
    "Keyboardist": _everywhere("Musician"),
    "Vocalist": _everywhere("Vocalist"),
    "Vocals": _everywhere("Vocalist"),
    "Singer": _everywhere("Vocalist"),
    "Rapper": _everywhere("Vocalist"),
    "LeadVocals": _everywhere("LeadVocalist"),
    "LeadSinger": _everywhere("LeadVocalist"),
    "BackingVocalist": _everywhere("BackgroundVocalist"),
    "BackingVocals": _everywhere("BackgroundVocalist"),
    "Programming": _everywhere("Programmer"),
}


def _normalised(name: str) -> str:
    """Case, spaces, hyphens and underscores do not matter in friendly names."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


@cache
def _document() -> dict:
    text = files("stardust_git").joinpath("data/ddex_vocabulary.json").read_text(encoding="utf-8")
    return json.loads(text)


def _sets(version: str) -> dict[str, list[str]]:
    if version not in VERSIONS:
        raise KeyError(f"unknown ERN version {version!r}; known: {', '.join(VERSIONS)}")
    return _document()["values"][version]


@cache
def allowed(set_name: str, version: str = DEFAULT_VERSION) -> frozenset[str]:
    """The values the ERN ``version`` message XSD accepts for ``set_name``.

    Raises KeyError for an unknown version or a set that version does not have.
    """
    sets = _sets(version)
    if set_name not in sets:
        raise KeyError(f"ERN {version} has no {set_name} value set; it has {sorted(sets)}")
    return frozenset(sets[set_name])


@cache
def set_names(version: str = DEFAULT_VERSION) -> frozenset[str]:
    return frozenset(_sets(version))


@cache
def contributor_roles(version: str = DEFAULT_VERSION) -> frozenset[str]:
    """Every role a sound recording's contributor may take (3.8.2: direct and indirect)."""
    roles = allowed("ContributorRole", version)
    if "IndirectContributorRole" in set_names(version):
        roles |= allowed("IndirectContributorRole", version)
    return roles


def is_indirect_contributor_role(role: str, version: str) -> bool:
    """True when ``role`` must be written as an IndirectResourceContributor (3.8.2 only)."""
    if "IndirectContributorRole" not in set_names(version):
        return False
    return role in allowed("IndirectContributorRole", version) and role not in allowed(
        "ContributorRole", version
    )


@cache
def _roles_by_normalised_name(version: str) -> dict[str, str]:
    return {_normalised(role): role for role in contributor_roles(version)}


@cache
def _aliases_by_normalised_name() -> dict[str, Mapping[str, str]]:
    return {_normalised(alias): targets for alias, targets in ROLE_ALIASES.items()}


def contributor_role(name: str, version: str = DEFAULT_VERSION) -> str | None:
    """The DDEX role for a friendly name or a DDEX value of ``version``; None when unknown."""
    key = _normalised(name)
    exact = _roles_by_normalised_name(version).get(key)
    if exact is not None:
        return exact
    return _aliases_by_normalised_name().get(key, {}).get(version)


@cache
def _catalog_roles(version: str) -> dict[str, str]:
    reverse: dict[str, str] = {}
    for alias, targets in ROLE_ALIASES.items():
        reverse.setdefault(targets[version], alias)
    return reverse


def catalog_role(value: str, version: str = DEFAULT_VERSION) -> str:
    """The catalog's name for a DDEX contributor role read from an ERN ``version`` message: the
    first friendly name in :data:`ROLE_ALIASES` that renders as ``value``, else ``value``
    itself (importers read roles back through the table the renderers write them with)."""
    return _catalog_roles(version).get(value, value)


@lru_cache(maxsize=1024)  # a catalog uses a few roles, each on thousands of credits
def known_contributor_role(name: str) -> bool:
    """True for a 4.3 contributor role or a friendly alias."""
    return contributor_role(name, DEFAULT_VERSION) is not None


def is_territory(code: str, version: str = DEFAULT_VERSION) -> bool:
    """ISO 3166-1 codes, CISAC TIS numeric codes, Worldwide, XK ... as a deal accepts them."""
    return code in allowed("TerritoryCode", version)


def is_commercial_model(value: str, version: str = DEFAULT_VERSION) -> bool:
    return value in allowed("CommercialModelType", version)


def is_use_type(value: str, version: str = DEFAULT_VERSION) -> bool:
    return value in allowed("UseType", version)


def is_release_type(value: str, version: str = DEFAULT_VERSION) -> bool:
    return value in allowed("ReleaseType", version)


def is_parental_warning(value: str, version: str = DEFAULT_VERSION) -> bool:
    return value in allowed("ParentalWarningType", version)


@cache
def artist_roles(version: str = DEFAULT_VERSION) -> frozenset[str]:
    """Roles a release's display artist may hold: DisplayArtistRole in 4.x, ArtistRole in 3.8.2.

    4.x messages do not use the ArtistRole set at all, so it is not offered there.
    """
    names = set_names(version)
    return frozenset().union(
        *(allowed(name, version) for name in ("DisplayArtistRole", "ArtistRole") if name in names)
    )


def is_artist_role(value: str, version: str = DEFAULT_VERSION) -> bool:
    return value in artist_roles(version)


@cache
def _compiled_pattern(set_name: str, version: str) -> re.Pattern[str]:
    return re.compile(_document()["patterns"][version][set_name])


def is_language_code(code: str, version: str = DEFAULT_VERSION) -> bool:
    """A language as a sound recording's LanguageOfPerformance accepts it.

    4.x: the XSD's lang[-script][-region][-variant] pattern; 3.8.2: its IsoLanguageCode set.
    """
    if version == "3.8.2":
        return code in allowed("IsoLanguageCode", version)
    return _compiled_pattern("LanguageOfPerformance", version).fullmatch(code) is not None


@cache
def _suggestion_keys(set_name: str, version: str) -> dict[str, str]:
    """Normalised spelling -> value to suggest; contributor roles also offer their aliases.

    "ArtistRole" means the roles is_artist_role accepts in ``version`` (DisplayArtistRole in
    4.x). Sorted so that difflib breaks ties the same way on every run.
    """
    values = artist_roles(version) if set_name == "ArtistRole" else allowed(set_name, version)
    keys = {_normalised(value): value for value in sorted(values)}
    if set_name == "ContributorRole":
        for alias, targets in ROLE_ALIASES.items():
            if targets.get(version) in keys.values():
                keys.setdefault(_normalised(alias), targets[version])
    return keys


TERRITORY_MISTAKES = {"UK": "GB", "EL": "GR", "UAE": "AE"}
"""Codes people write that ISO 3166 spells otherwise (the EU's EL for Greece, UK for GB)."""


def _country_code(name: str, version: str) -> str | None:
    """A territory named in words or by ISO alpha-3 ("Norway", "NOR") -> its code ("NO")."""
    import pycountry  # only to suggest a code for a wrong one: ~30 ms of start-up otherwise

    try:
        code = pycountry.countries.lookup(name).alpha_2
    except LookupError:
        return None
    return code if code in allowed("TerritoryCode", version) else None


def suggest(value: str, set_name: str, version: str = DEFAULT_VERSION) -> str | None:
    """The allowed value closest to ``value`` (case-insensitive), for "did you mean" messages."""
    keys = _suggestion_keys(set_name, version)
    key = _normalised(value)
    if key in keys:
        return keys[key]
    if set_name == "TerritoryCode" and (code := _country_code(value, version)):
        return code
    if set_name == "TerritoryCode" and value.upper() in TERRITORY_MISTAKES:
        return TERRITORY_MISTAKES[value.upper()]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    return keys[close[0]] if close else None


@cache
def _language_codes() -> frozenset[str]:
    """ISO 639 codes from ``data/iso639.json`` (pycountry's table, written by
    ``scripts/extract_languages.py``): importing pycountry and indexing its 7,900 languages cost
    a one-file validate about 50 ms for this one membership test."""
    text = files("stardust_git").joinpath("data/iso639.json").read_text(encoding="utf-8")
    table = json.loads(text)
    return frozenset(table["alpha_2"]) | frozenset(table["alpha_3"])


def is_language(code: str) -> bool:
    """Whether ``code`` is an ISO 639-1 (two-letter) or 639-3 (three-letter) code, lower case."""
    return code in _language_codes()

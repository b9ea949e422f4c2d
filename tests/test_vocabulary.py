"""The DDEX vocabulary: extracted from the official XSDs, accepted by them, and queried fast."""

from __future__ import annotations

import runpy
import subprocess
import sys
import time
from functools import cache
from importlib.resources import files
from pathlib import Path

import pytest
from lxml import etree

from stardust_git import vocabulary
from stardust_git.vocabulary import (
    ROLE_ALIASES,
    VERSIONS,
    allowed,
    contributor_role,
    contributor_roles,
    is_artist_role,
    is_commercial_model,
    is_indirect_contributor_role,
    is_language_code,
    is_parental_warning,
    is_release_type,
    is_territory,
    is_use_type,
    known_contributor_role,
    suggest,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
XSD_DIR = SHARED / "ddex-xsd"
SAMPLES = SHARED / "ddex-samples"
EXTRACTOR = REPO / "scripts" / "extract_vocabulary.py"
SET_PATHS: dict[str, dict[str, str]] = runpy.run_path(str(EXTRACTOR))["SET_PATHS"]

VERSION_DIRS = {"3.8.2": "ern382", "4.2": "ern42", "4.3": "ern43"}
# Per version, the official samples in which each set's element is rewritten and re-validated.
SAMPLE_FILES = {
    "3.8.2": ("01_delivery.xml",),
    "4.2": ("audio-album.xml", "simple-audio-single.xml"),
    "4.3": ("audio-album.xml", "simple-audio-single.xml"),
}


def test_json_is_what_the_extractor_writes_from_the_xsds(tmp_path: Path) -> None:
    fresh = tmp_path / "vocabulary.json"
    subprocess.run(
        [sys.executable, str(EXTRACTOR), "--xsd-dir", str(XSD_DIR), "--out", str(fresh)],
        check=True,
    )
    shipped = files("stardust_git").joinpath("data/ddex_vocabulary.json").read_bytes()
    assert fresh.read_bytes() == shipped


@pytest.mark.parametrize(
    ("set_name", "count"),
    [
        ("CommercialModelType", 8),
        ("UseType", 53),
        ("ReleaseType", 49),
        ("ContributorRole", 308),
        ("DisplayArtistRole", 4),
        ("ParentalWarningType", 6),
        ("TerritoryCode", 503),
    ],
)
def test_4_3_counts_match_the_ddex_notes(set_name: str, count: int) -> None:
    assert len(allowed(set_name, "4.3")) == count


@pytest.mark.parametrize(
    ("version", "set_name", "avs_type"),
    [
        ("4.3", "CommercialModelType", "avs:CommercialModelType_ERN"),
        ("4.2", "CommercialModelType", "avs:CommercialModelType_ERN"),
        ("3.8.2", "CommercialModelType", "avs:CommercialModelType"),
        ("4.3", "UseType", "avs:UseType_ERN"),
        ("3.8.2", "UseType", "avs:UseType"),
        ("4.3", "ReleaseType", "avs:ReleaseType_ERN4"),
        ("3.8.2", "ReleaseType", "avs:ReleaseType"),
        ("3.8.2", "ContributorRole", "avs:ResourceContributorRole"),
        ("4.3", "TerritoryCode", "avs:CurrentTerritoryCode"),
    ],
)
def test_each_set_comes_from_the_type_the_message_xsd_references(
    version: str, set_name: str, avs_type: str
) -> None:
    sources = vocabulary._document()["sources"][version]
    assert sources[set_name].endswith(f"-> {avs_type}")


@cache
def _schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(
        etree.parse(XSD_DIR / VERSION_DIRS[version] / "release-notification.xsd")
    )


def _sample_with(version: str, path: str) -> tuple[etree._ElementTree, etree._Element, str | None]:
    """A sample holding ``path``: its tree, the element there and the attribute (if any)."""
    element_path, _, attribute = path.partition("@")
    element_path = element_path.rstrip("/") or "."
    for name in SAMPLE_FILES[version]:
        tree = etree.parse(SAMPLES / VERSION_DIRS[version] / name)
        node = tree.getroot().find(element_path)
        if node is not None and (not attribute or node.get(attribute) is not None):
            return tree, node, attribute or None
    raise LookupError(f"no ERN {version} sample has {path}")


def _accepts(version: str, path: str, values: list[str]) -> list[bool]:
    """For each value, whether the XSD accepts a sample with that value written at ``path``."""
    tree, node, attribute = _sample_with(version, path)
    verdicts = []
    for value in values:
        if attribute:
            node.set(attribute, value)
        else:
            node.text = value
        verdicts.append(_schema(version).validate(tree))
    return verdicts


# The sets the official samples carry, per version: every value must validate in place.
_DEAL_AND_RELEASE = ["CommercialModelType", "UseType", "TerritoryCode", "ParentalWarningType"]
_ERN4_CHECKED = [
    *_DEAL_AND_RELEASE,
    *["ReleaseType", "ContributorRole", "DisplayArtistRole", "AudioCodecType"],
    *["MessageControlType", "ReleaseProfileVersionId", "SoundRecordingType", "ImageType"],
    "HashSumAlgorithmType",
]
XSD_CHECKED = {
    "3.8.2": [*_DEAL_AND_RELEASE, "ArtistRole", "AudioCodecType", "ImageType", "TitleType"],
    "4.2": _ERN4_CHECKED,
    "4.3": _ERN4_CHECKED,
}


@pytest.mark.parametrize(
    ("version", "set_name"),
    [(version, name) for version, names in XSD_CHECKED.items() for name in names],
)
def test_the_message_xsd_accepts_every_value_and_rejects_others(
    version: str, set_name: str
) -> None:
    values = sorted(allowed(set_name, version))
    verdicts = _accepts(version, SET_PATHS[set_name][version], [*values, "NotADdexValue"])
    assert [value for value, ok in zip(values, verdicts, strict=False) if not ok] == []
    assert verdicts[-1] is False


@pytest.mark.parametrize("version", ["4.2", "4.3"])
@pytest.mark.parametrize("code", ["en", "EN", "de-AT", "zh-Hant-TW", "english", "e", "en_GB"])
def test_language_code_check_agrees_with_the_xsd(version: str, code: str) -> None:
    [xsd_accepts] = _accepts(version, SET_PATHS["LanguageOfPerformance"][version], [code])
    assert is_language_code(code, version) == xsd_accepts


def test_3_8_2_language_codes_are_the_avs_iso_set() -> None:
    assert is_language_code("en", "3.8.2")
    assert not is_language_code("en-GB", "3.8.2")


@pytest.mark.parametrize(("alias", "version"), [(a, v) for a in ROLE_ALIASES for v in VERSIONS])
def test_every_alias_target_is_a_role_of_its_version(alias: str, version: str) -> None:
    assert ROLE_ALIASES[alias][version] in contributor_roles(version)


def test_producer_is_studio_producer_in_ern4_and_producer_in_3_8_2() -> None:
    assert "Producer" not in allowed("ContributorRole", "4.3")
    assert contributor_role("Producer", "4.3") == "StudioProducer"
    assert contributor_role("Producer", "4.2") == "StudioProducer"
    assert contributor_role("Producer", "3.8.2") == "Producer"


def test_contributor_role_takes_ddex_values_and_friendly_spellings() -> None:
    assert contributor_role("MixingEngineer", "4.3") == "MixingEngineer"
    assert contributor_role("mixing engineer", "4.3") == "MixingEngineer"
    assert contributor_role("Mastering-Engineer", "4.2") == "MasteringEngineer"
    assert contributor_role("Songwriter", "4.3") == "ComposerLyricist"
    assert contributor_role("FeaturedArtist", "4.3") == "Artist"
    assert contributor_role("FeaturedArtist", "3.8.2") == "FeaturedArtist"
    assert contributor_role("Kazoo Wizard", "4.3") is None


def test_3_8_2_composers_are_indirect_contributors() -> None:
    assert contributor_role("composer", "3.8.2") == "Composer"
    assert is_indirect_contributor_role("Composer", "3.8.2")
    assert not is_indirect_contributor_role("Producer", "3.8.2")
    assert not is_indirect_contributor_role("Composer", "4.3")


def test_known_contributor_role() -> None:
    assert known_contributor_role("Producer")
    assert known_contributor_role("StudioProducer")
    assert known_contributor_role("backing vocals")
    assert not known_contributor_role("Prodcer")


@pytest.mark.parametrize("code", ["NO", "Worldwide", "XK", "GB", "2136"])
def test_territories(code: str) -> None:
    assert is_territory(code)


@pytest.mark.parametrize("code", ["UK", "no", "WW", "EU", ""])
def test_not_territories(code: str) -> None:
    assert not is_territory(code)


def test_checks_for_deals_releases_and_artists() -> None:
    assert is_commercial_model("SubscriptionModel")
    assert not is_commercial_model("AsPerContract")  # in 3.8.2's set, not in the ERN 4 one
    assert is_commercial_model("AsPerContract", "3.8.2")
    assert is_use_type("Stream") and not is_use_type("Streaming")
    assert is_release_type("Album") and is_release_type("Single")
    assert is_parental_warning("Explicit") and not is_parental_warning("Clean")
    assert is_artist_role("MainArtist") and is_artist_role("FeaturedArtist")
    assert not is_artist_role("Actor")
    assert is_artist_role("Actor", "3.8.2")


def test_a_set_missing_from_a_version_raises() -> None:
    with pytest.raises(KeyError, match="DisplayArtistRole"):
        allowed("DisplayArtistRole", "3.8.2")


@pytest.mark.parametrize(
    ("typo", "set_name", "expected"),
    [
        ("SubscriptionModl", "CommercialModelType", "SubscriptionModel"),
        ("stream", "UseType", "Stream"),
        ("Albumm", "ReleaseType", "Album"),
        ("Prodcer", "ContributorRole", "StudioProducer"),
        ("Norway", "TerritoryCode", "NO"),
        ("wordwide", "TerritoryCode", "Worldwide"),
        ("explicit", "ParentalWarningType", "Explicit"),
        ("Main Artsit", "ArtistRole", "MainArtist"),  # 4.3 offers its DisplayArtistRole values
    ],
)
def test_suggest_finds_the_intended_value(typo: str, set_name: str, expected: str) -> None:
    assert suggest(typo, set_name) == expected


def test_suggest_gives_up_on_nonsense() -> None:
    assert suggest("qqqqqqqq", "CommercialModelType") is None


def test_lookups_are_fast() -> None:
    names = ["Producer", "mixing engineer", "Kazoo", "Composer"] * 5_000
    started = time.perf_counter()
    for name in names:
        contributor_role(name, "4.3")
        is_territory("NO")
    assert time.perf_counter() - started < 1.0

"""Property: any valid release renders XSD-valid in every ERN version, for any action.

Releases are generated as YAML-shaped data and validated by the catalog model, so only releases
the catalog accepts are rendered: 1-30 tracks over up to three discs, titles with XML-special and
non-Latin characters, several artists, contributor roles (friendly names and DDEX values), deals
with any allowed territory, commercial model and use type, and withdrawn territories.
"""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from stdnum.iso7064 import mod_11_2

from stardust_git import rules, vocabulary, xsd
from stardust_git.render import render_message
from stardust_git.source.catalog import Catalog
from tests.media import write_jpeg, write_wav
from tests.test_render_support import VERSIONS, add_targets, context, make_release, target_name

VERSION = vocabulary.DEFAULT_VERSION
TODAY = dt.date(2025, 11, 3)
TERRITORIES = sorted(vocabulary.allowed("TerritoryCode", VERSION))
COUNTRIES = [code for code in TERRITORIES if len(code) == 2]
ROLES = sorted(vocabulary.contributor_roles(VERSION) | set(vocabulary.ROLE_ALIASES))
ARTIST_ROLES = sorted(vocabulary.artist_roles(VERSION))
# Letters and digits of several scripts, the characters XML escapes, punctuation and spaces.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("&<>\"' ;#/\\"),
        st.characters(categories=["L", "N", "P", "S", "Zs"]),
        st.sampled_from("Ωßçñ日本語中文한국어العربيةעבריתкириллица😀"),
    ),
    min_size=1,
    max_size=40,
).filter(lambda text: text.strip() == text and text != "")


def isrc(number: int) -> str:
    return f"US{'ABCDE'[number % 5]}XY25{number:05d}"


def isni(digits: str) -> str:
    return digits + mod_11_2.calc_check_digit(digits)


def iswc(digits: str) -> str:
    checksum = (1 + sum(i * int(d) for i, d in enumerate(digits, start=1))) % 10
    return f"T{digits}{(10 - checksum) % 10}"


dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2027, 12, 31))


@st.composite
def people(draw: st.DrawFn, roles: list[str], size: int) -> list[dict[str, Any]]:
    found = []
    for _ in range(draw(st.integers(0 if roles is ROLES else 1, size))):
        person: dict[str, Any] = {"name": draw(TEXT), "role": draw(st.sampled_from(roles))}
        if draw(st.booleans()):
            person["isni"] = isni(draw(st.text(string.digits, min_size=15, max_size=15)))
        if draw(st.booleans()):
            person["ipi"] = draw(st.text(string.digits, min_size=9, max_size=11))
        found.append(person)
    return found


def slow_examples(count: int) -> settings:
    """Hypothesis settings for ``count`` examples that each render (and read) a message: no
    deadline, fixtures shared across examples."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@st.composite
def deals(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(dates)
    deal: dict[str, Any] = {
        "territories": draw(st.lists(st.sampled_from(TERRITORIES), min_size=1, max_size=6)),
        "commercial_models": draw(
            st.lists(st.sampled_from(sorted(vocabulary.allowed("CommercialModelType"))), min_size=1)
        ),
        "use_types": draw(
            st.lists(st.sampled_from(sorted(vocabulary.allowed("UseType"))), min_size=1, max_size=5)
        ),
        "start_date": str(start),
    }
    if draw(st.booleans()):
        deal["territories"] = ["Worldwide"]
        deal["excluded_territories"] = draw(st.lists(st.sampled_from(COUNTRIES), max_size=4))
    if draw(st.booleans()):
        deal["end_date"] = str(start + dt.timedelta(days=draw(st.integers(0, 900))))
    if draw(st.booleans()):
        deal["price_tier"] = draw(TEXT)
    if draw(st.integers(0, 2)) == 0:
        deal["preorder_date"] = str(start - dt.timedelta(days=draw(st.integers(1, 400))))
    return deal


@st.composite
def releases(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 30))
    discs = sorted(draw(st.lists(st.integers(1, 3), min_size=count, max_size=count)))
    tracks = []
    for index, disc in enumerate(discs):
        track: dict[str, Any] = {
            "isrc": isrc(index + 1),
            "title": draw(TEXT),
            "duration": draw(st.floats(0.5, 3600, allow_nan=False).map(lambda s: round(s, 3))),
            "audio": f"assets/p/{index % 2}.wav",
            "disc": disc,
            "contributors": draw(people(ROLES, 4)),
        }
        if draw(st.booleans()):
            track["version"] = draw(TEXT)
        if draw(st.integers(0, 4)) == 0:
            track["artists"] = draw(people(ARTIST_ROLES, 3))
        if draw(st.booleans()):
            track["iswc"] = iswc(draw(st.text(string.digits, min_size=9, max_size=9)))
        if draw(st.booleans()):
            track["preview_start"] = draw(st.integers(0, 60))
        if draw(st.booleans()):
            track["parental_warning"] = draw(
                st.sampled_from(sorted(vocabulary.allowed("ParentalWarningType")))
            )
        track["language"] = draw(st.sampled_from(["en", "pt-BR", "ja", "zh-Hant", "fr"]))
        track["instant_grat"] = draw(st.integers(0, 3)) == 0
        tracks.append(track)
    data: dict[str, Any] = {
        "upc": "0885686123454",
        "title": draw(TEXT),
        "artists": draw(people(ARTIST_ROLES, 3)),
        "label": draw(TEXT),
        "release_date": str(draw(dates)),
        "genre": draw(st.sampled_from(["ELECTRONIC", "HOUSE", "POP", "SYNTH_POP"])),
        "language": draw(st.sampled_from(["en", "de", "pt-BR", "ja"])),
        "p_line": {"year": draw(st.integers(1950, 2026)), "owner": draw(TEXT)},
        "c_line": {"year": draw(st.integers(1950, 2026)), "owner": draw(TEXT)},
        "parental_warning": draw(
            st.sampled_from(sorted(vocabulary.allowed("ParentalWarningType")))
        ),
        "cover": "assets/p/cover.jpg",
        "tracks": tracks,
        "deals": draw(st.lists(deals(), min_size=1, max_size=4)),
        "targets": [target_name(v) for v in VERSIONS],
    }
    if draw(st.booleans()):
        data["version"] = draw(TEXT)
    if draw(st.booleans()):
        data["release_type"] = draw(st.sampled_from(sorted(vocabulary.allowed("ReleaseType"))))
    if draw(st.booleans()):
        data["catalog_number"] = draw(TEXT)
    return data


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root: Path = tmp_path_factory.mktemp("property")
    write_wav(root / "assets/p/0.wav", seconds=0.1)
    write_wav(root / "assets/p/1.wav", seconds=0.1, rate=22050, channels=2)
    write_jpeg(root / "assets/p/cover.jpg", size=32)
    return add_targets(Catalog(root=root))


def withdrawable(data: dict[str, Any], candidates: list[str]) -> frozenset[str]:
    listed = {code for deal in data["deals"] for code in deal["territories"]}
    return frozenset(code for code in candidates if code not in listed)


@pytest.mark.parametrize("version", VERSIONS)
@slow_examples(50)
@given(
    data=releases(),
    action=st.sampled_from(["initial", "update", "takedown"]),
    withdrawn=st.lists(st.sampled_from(COUNTRIES), max_size=3),
)
def test_valid_releases_render_xsd_valid(
    catalog: Catalog, version: str, data: dict[str, Any], action: str, withdrawn: list[str]
) -> None:
    loaded = make_release(data)
    pulled = withdrawable(data, withdrawn)
    xml = render_message(
        catalog, loaded, target_name(version), action, context(today=TODAY), pulled
    )
    problems = xsd.validate_xml(xml, version)
    assert problems == [], "\n".join(f"{p.xpath}: {p.message}" for p in problems[:5])
    root = etree.fromstring(xml)
    broken = [p for p in rules.check_message(root, action, TODAY) if p.rule != "BR-TERR-001"]
    assert broken == []
    titles = {e.text for e in root.iter("TitleText")}
    assert data["title"] in titles
    assert all(track["title"] in titles for track in data["tracks"])

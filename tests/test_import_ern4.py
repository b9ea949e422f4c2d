"""The ERN 4.2/4.3 reader: import(render(release)) is the release, render(import(sample)) keeps
what the sample says and is XSD-valid, and what the catalog cannot hold is listed by XPath."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from lxml import etree

from stardust_git import xsd
from stardust_git.importers import ern_common as common
from stardust_git.importers.ern4 import read_ern4
from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.model import ImportContext, ImportedRelease, PurgeNotSupported
from stardust_git.importers.xmlsafe import open_message
from stardust_git.models import Release
from stardust_git.render import render_message, render_package
from stardust_git.render.ern import contributor_role, display_artist_role, territory
from stardust_git.source.catalog import Catalog, Loaded
from tests import test_render_property as property_tests
from tests.media import write_jpeg, write_wav
from tests.test_render_property import TODAY, releases, slow_examples
from tests.test_render_support import (
    SAMPLES,
    add_targets,
    context,
    example_catalog,
    example_releases,
    make_release,
    stated_preorders,
    target_name,
)

ERN4 = ("4.2", "4.3")
NOT_CARRIED = {
    "targets": "where the release goes is the catalog's business, never in a message",
    "takedown": "a message states deals; the takedown flag is read as delivered_action",
    "deliver_after": "a hold date of the catalog, never sent",
    "cover": "the message names files its own way; the reader names them assets/<UPC>/...",
    "tracks.audio": "as cover",
    "tracks.disc": "a one-disc release has no disc number in its ResourceGroup (it reads as 1)",
    "release_type": "a derived type is written like a stated one (compared as effective type)",
    "tracks.artists/parental_warning/language": "the release's value is written for a track "
    "without one (compared after filling in the release's)",
    "contributors": "4.x writes one Contributor per party with its DDEX roles: compared as a set "
    "of (name, ids, DDEX role) (friendly aliases and duplicates do not survive)",
    "artists.role": "4.2 has no Composer display role (written as Artist)",
    "ipi": "ERN 4 writes 11 digits (zero-padded)",
    "deals": "a deal is compared territory by territory (messages may split or join them) with "
    "numeric territory codes as the version writes them",
}
SENDER_PARTY = "PADPIDA2025110101D"


def genre_lookup() -> GenreLookup:
    return GenreLookup.from_catalog(example_catalog())


def import_bytes(xml: bytes, folder: Path) -> list[ImportedRelease]:
    path = folder / "message.xml"
    path.write_bytes(xml)
    message = open_message(path, "message.xml")
    return list(read_ern4(message, ImportContext(genre_lookup())))


def render(
    catalog: Catalog, loaded: Loaded[Release], version: str, action: str = "initial"
) -> bytes:
    return render_message(catalog, loaded, target_name(version), action, context(today=TODAY))


# --- comparing releases ------------------------------------------------------------------------


def _person(person: dict[str, Any], version: str, role: str) -> tuple:
    ipi = person.get("ipi")
    return (person["name"], person.get("isni"), ipi.zfill(11) if ipi else None, role)


def _artists(artists: list[dict[str, Any]], version: str) -> list[tuple]:
    return [_person(a, version, display_artist_role(a["role"], version)) for a in artists]


def _deal_rows(deals: list[dict[str, Any]], version: str) -> set[tuple]:
    rows = set()
    for deal in deals:
        excluded = tuple(sorted(set(deal["excluded_territories"])))
        terms = (
            excluded,
            tuple(deal["commercial_models"]),
            tuple(deal["use_types"]),
            deal["start_date"],
            deal["end_date"],
            deal["price_tier"],
            deal["preorder_date"],
        )
        rows |= {(territory(code, version), *terms) for code in deal["territories"]}
    return rows


def _track(track: dict[str, Any], release: dict[str, Any], version: str, discs: int) -> dict:
    compared = {k: v for k, v in track.items() if k not in ("audio", "contributors", "artists")}
    compared["disc"] = track["disc"] if discs > 1 else 1
    compared["artists"] = _artists(track["artists"] or release["artists"], version)
    for key in ("parental_warning", "language"):
        compared[key] = track[key] or release[key]
    compared["contributors"] = {
        _person(c, version, contributor_role(c["role"], version)) for c in track["contributors"]
    }
    return compared


def comparable(data: dict[str, Any], version: str) -> dict[str, Any]:
    """The release's data as a message of ``version`` can carry it (see NOT_CARRIED)."""
    model = Release.model_validate(data)
    dumped = model.model_dump()
    for key in ("targets", "takedown", "deliver_after", "cover"):
        dumped.pop(key)
    dumped["release_type"] = model.effective_release_type()
    discs = len({track["disc"] for track in dumped["tracks"]})
    dumped["tracks"] = [_track(t, dumped, version, discs) for t in dumped["tracks"]]
    dumped["artists"] = _artists(dumped["artists"], version)
    dumped["deals"] = _deal_rows(dumped["deals"], version)
    return dumped


def assert_round_trip(catalog: Catalog, data: dict[str, Any], version: str, folder: Path) -> None:
    loaded = make_release(data)
    [imported] = import_bytes(render(catalog, loaded, version), folder)
    assert imported.upc == data["upc"]
    assert imported.version == version
    stated = stated_preorders(Release.model_validate(data), TODAY).model_dump()
    assert comparable(imported.data, version) == comparable(stated, version)


# --- round trips -------------------------------------------------------------------------------


def example(upc: str) -> Loaded[Release]:
    """The example catalog's release ``upc``."""
    return next(r for r in example_releases().values() if r.model.upc == upc)


@pytest.mark.parametrize("version", ERN4)
@pytest.mark.parametrize("upc", sorted(r.model.upc for r in example_releases().values()))
def test_example_releases_round_trip(version: str, upc: str, tmp_path: Path) -> None:
    catalog = example_catalog()
    loaded = example(upc)
    data = loaded.model.model_dump(exclude_none=True)
    [imported] = import_bytes(render(catalog, loaded, version), tmp_path)
    assert comparable(imported.data, version) == comparable(data, version)
    assert imported.delivered_action == "initial"
    assert not imported.guessed
    assert list(imported.data)[:4] == ["upc", "title", "artists", "label"] or list(imported.data)[
        :5
    ] == ["upc", "title", "version", "artists", "label"]


@pytest.fixture(scope="module")
def property_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The property tests' catalog: the assets their generated releases point at."""
    return property_tests.catalog.__wrapped__(tmp_path_factory)


@pytest.mark.parametrize("version", ERN4)
@slow_examples(30)
@given(data=releases())
def test_generated_releases_round_trip(
    property_catalog: Catalog, version: str, data: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert_round_trip(property_catalog, data, version, Path(folder))


# --- the official samples ----------------------------------------------------------------------

SAMPLE_FILES = sorted(
    (path, {"ern42": "4.2", "ern43": "4.3"}[path.parent.name])
    for folder in ("ern42", "ern43")
    for path in (SAMPLES / folder).rglob("*.xml")
)
STAND_IN_UPC = "1234567890128"


def _text(element: etree._Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _seconds(text: str) -> float:
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", text)
    assert match, text
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def facts(root: etree._Element, main_only_deals: bool) -> dict[str, Any]:
    """What a message says, read with plain lxml: ids, titles, artists, durations, deals."""
    names = {_text(p, "PartyReference"): _text(p, "PartyName/FullName") for p in root.iter("Party")}
    release = root.find("ReleaseList/Release")
    recordings = root.findall("ResourceList/SoundRecording")
    reference = _text(release, "ReleaseReference")
    deals = set()
    for release_deal in root.iterfind("DealList/ReleaseDeal"):
        refs = [e.text for e in release_deal.iterfind("DealReleaseReference")]
        if main_only_deals and reference not in refs:
            continue
        for terms in release_deal.iterfind("Deal/DealTerms"):
            start = _text(terms, "ValidityPeriod/StartDate")
            for code in terms.iterfind("TerritoryCode"):
                for model in terms.iterfind("CommercialModelType"):
                    uses = tuple(sorted(u.text for u in terms.iterfind("UseType")))
                    deals.add((code.text, model.text, uses, start))
    return {
        "isrcs": [_text(r, ".//ISRC") for r in recordings],
        "title": _text(release, "DisplayTitle/TitleText"),
        "track_titles": [_text(r, "DisplayTitle/TitleText") for r in recordings],
        "artists": [names[_text(a, "ArtistPartyReference")] for a in release.iter("DisplayArtist")],
        "durations": [_seconds(_text(r, "Duration")) for r in recordings],
        "deals": deals,
        "icpn": _text(release, "ReleaseId/ICPN").lstrip("0"),
    }


def rendered_catalog(root: Path, data: dict[str, Any]) -> Catalog:
    """A catalog at ``root`` with real files where the imported release points."""
    write_jpeg(root / data["cover"], size=32)
    for track in data["tracks"]:
        write_wav(root / track["audio"], seconds=0.1)
    return add_targets(Catalog(root=root, taxonomy=example_catalog().taxonomy))


@pytest.mark.parametrize(("sample", "version"), SAMPLE_FILES, ids=lambda v: str(v)[-28:])
def test_samples_import_and_render_back(sample: Path, version: str, tmp_path: Path) -> None:
    [imported] = list(read_ern4(open_message(sample, sample.name), ImportContext(genre_lookup())))
    data = {**imported.data, "upc": imported.upc or STAND_IN_UPC}
    data["cover"] = data["cover"].replace("assets/unknown", f"assets/{data['upc']}")
    for track in data["tracks"]:
        track["audio"] = track["audio"].replace("assets/unknown", f"assets/{data['upc']}")
    catalog = rendered_catalog(tmp_path, data)
    xml = render(catalog, make_release(data), version)
    problems = xsd.validate_xml(xml, version)
    assert problems == [], [f"{p.xpath}: {p.message}" for p in problems[:5]]
    said, kept = (
        facts(etree.parse(str(sample)).getroot(), True),
        facts(etree.fromstring(xml), False),
    )
    if imported.upc:
        assert kept["icpn"] == said["icpn"]
    for key in ("isrcs", "title", "track_titles", "artists", "durations", "deals"):
        assert kept[key] == said[key], key


# --- notes, takedowns, discs, deals, track releases, genres -------------------------------------


@pytest.mark.parametrize("version", ERN4)
def test_elements_the_catalog_cannot_hold_are_listed_by_xpath(version: str, tmp_path: Path) -> None:
    xml = render(example_catalog(), example("5060236631114"), version)
    xml = xml.replace(b"</Release>", b"<Keywords>dawn, synth</Keywords>\n</Release>", 1)
    xml = xml.replace(b"<Duration>", b"<MarketingComment>Out now</MarketingComment>\n<Duration>", 1)
    video = b"<Video><ResourceReference>A9</ResourceReference></Video>\n</ResourceList>"
    xml = xml.replace(b"</ResourceList>", video)
    [imported] = import_bytes(xml, tmp_path)
    unmapped = {note.where for note in imported.notes if note.kind == "unmapped"}
    assert "/NewReleaseMessage/ResourceList/Video[1]" in unmapped
    assert "/NewReleaseMessage/ReleaseList/Release[1]/Keywords" in unmapped
    assert "/NewReleaseMessage/ResourceList/SoundRecording[1]/MarketingComment" in unmapped
    assert imported.data["title"] == "First Light"


@pytest.mark.parametrize("version", ERN4)
def test_a_message_without_deals_is_a_takedown(version: str, tmp_path: Path) -> None:
    xml = render(example_catalog(), example("4250123456789"), version, "takedown")
    [imported] = import_bytes(xml, tmp_path)
    assert imported.delivered_action == "takedown"
    dealless = re.sub(rb"<DealList>.*</DealList>", b"", xml, flags=re.S)
    assert b"<Deal>" not in dealless
    [imported] = import_bytes(dealless, tmp_path)
    assert imported.delivered_action == "takedown"
    assert "deals" not in imported.data


@pytest.mark.parametrize("version", ERN4)
def test_a_multi_disc_set_keeps_its_discs_and_deals(version: str, tmp_path: Path) -> None:
    [imported] = import_bytes(
        render(example_catalog(), example("0885686123454"), version), tmp_path
    )
    assert [track["disc"] for track in imported.data["tracks"]] == [1] * 6 + [2] * 6
    assert [track["isrc"][-2:] for track in imported.data["tracks"]] == [
        f"{n:02}" for n in range(1, 13)
    ]
    deals = imported.data["deals"]
    assert [deal["commercial_models"] for deal in deals] == [
        ["SubscriptionModel", "AdvertisementSupportedModel"],
        ["PayAsYouGoModel"],
    ]
    assert deals[1]["price_tier"] == "1" and "price_tier" not in deals[0]
    assert imported.delivered_action == "initial"


@pytest.mark.parametrize("version", ERN4)
def test_resources_resolve_beside_the_message_with_their_md5(version: str, tmp_path: Path) -> None:
    catalog, loaded = example_catalog(), example("0885686123454")
    package = render_package(catalog, loaded, target_name(version), "initial", context())
    for file in package.files:
        target = tmp_path / file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.data if file.data is not None else file.source.read_bytes())
    message = open_message(tmp_path / package.message.name, package.message.name)
    [imported] = read_ern4(message, ImportContext(genre_lookup()))
    assert len(imported.resources) == 13
    for resource in imported.resources:
        assert resource.source.parent == tmp_path / "resources"
        assert resource.md5 == hashlib.md5(resource.source.read_bytes()).hexdigest()
    names = [track["audio"] for track in imported.data["tracks"]] + [imported.data["cover"]]
    assert names == [f"assets/0885686123454/{n:02}.flac" for n in range(1, 13)] + [
        "assets/0885686123454/cover.jpg"
    ]
    assert imported.message_id == package.message_id
    assert imported.message_created == "2025-11-03T14:05:09.000Z"


@pytest.mark.parametrize("version", ERN4)
def test_a_message_of_track_releases_alone_imports_each(version: str, tmp_path: Path) -> None:
    root = etree.fromstring(render(example_catalog(), example("4250123456789"), version))
    release_list = root.find("ReleaseList")
    release_list.remove(release_list.find("Release"))
    for reference in root.iter("DealReleaseReference"):
        if reference.text == "R0":
            reference.getparent().remove(reference)
    imported = import_bytes(etree.tostring(root), tmp_path)
    assert [r.upc for r in imported] == ["", ""]
    assert [[t["isrc"] for t in r.data["tracks"]] for r in imported] == [
        ["DEXYZ2500101"],
        ["DEXYZ2500102"],
    ]
    assert [r.data["title"] for r in imported] == ["Night Shift", "Night Shift"]
    assert [r.data["artists"] for r in imported] == [
        [{"name": "Kid Sable", "role": "MainArtist"}]
    ] * 2
    assert [r.data["genre"] for r in imported] == ["TRAP", "TRAP"]
    assert imported[1].data["version"] == "Clean"
    assert [len(r.data["deals"]) for r in imported] == [2, 2]


def batch(messages: list[bytes]) -> bytes:
    """One message holding the releases of ``messages``, their references made unique."""
    roots = [etree.fromstring(xml) for xml in messages]
    first = roots[0]
    for number, root in enumerate(roots):
        for element in root.iter():
            if element.tag.endswith("Reference") and element.text:
                element.text = f"{element.text}B{number}"
        if root is not first:
            for name in ("PartyList", "ResourceList", "ReleaseList", "DealList"):
                first.find(name).extend(list(root.find(name)))
    return etree.tostring(first)


@pytest.mark.parametrize("version", ERN4)
def test_several_releases_in_one_message(version: str, tmp_path: Path) -> None:
    upcs = ["0885686123454", "4250123456789", "5060236631114"]
    messages = [render(example_catalog(), example(upc), version) for upc in upcs]
    imported = import_bytes(batch(messages), tmp_path)
    assert [release.upc for release in imported] == upcs
    assert [len(release.data["tracks"]) for release in imported] == [12, 2, 1]
    assert [len(release.data["deals"]) for release in imported] == [2, 2, 1]
    assert [release.data["cover"] for release in imported] == [
        "assets/0885686123454/cover.jpg",
        "assets/4250123456789/cover.png",
        "assets/5060236631114/cover.jpg",
    ]
    for release in imported:
        assert comparable(release.data, version) == comparable(
            example(release.upc).model.model_dump(), version
        )
        header = [n.where for n in release.notes if "/MessageHeader[1]/" in n.where]
        assert "/NewReleaseMessage/MessageHeader[1]/MessageThreadId" in header
    assert [release.message_id for release in imported] == [imported[0].message_id] * 3


@pytest.mark.parametrize("version", ERN4)
def test_a_release_typed_track_release_is_not_a_main_release(version: str, tmp_path: Path) -> None:
    xml = render(example_catalog(), example("4250123456789"), version)
    xml = xml.replace(
        b"<ReleaseType>Single</ReleaseType>", b"<ReleaseType>TrackRelease</ReleaseType>"
    )
    imported = import_bytes(xml, tmp_path)
    assert [[t["isrc"] for t in r.data["tracks"]] for r in imported] == [
        ["DEXYZ2500101", "DEXYZ2500102"],
        ["DEXYZ2500101"],
        ["DEXYZ2500102"],
    ]


@pytest.mark.parametrize("version", ERN4)
def test_track_releases_beside_a_main_release_go_to_notes(version: str, tmp_path: Path) -> None:
    [imported] = import_bytes(
        render(example_catalog(), example("4250123456789"), version), tmp_path
    )
    track_notes = [n.where for n in imported.notes if "/TrackRelease[" in n.where]
    assert "/NewReleaseMessage/ReleaseList/TrackRelease[2]/ReleaseId/ProprietaryId" in track_notes


@pytest.mark.parametrize("version", ERN4)
def test_an_unknown_genre_gets_a_suggestion(version: str, tmp_path: Path) -> None:
    xml = render(example_catalog(), example("5060236631114"), version)
    xml = re.sub(
        rb"<Genre>.*?</Genre>", b"<Genre><GenreText>Synthpopp</GenreText></Genre>", xml, flags=re.S
    )
    [imported] = import_bytes(xml, tmp_path)
    [note] = [n for n in imported.notes if n.kind == "info" and "Synthpopp" in n.message]
    assert "did you mean 'SYNTH_POP'" in note.message
    assert imported.data["genre"] == "SYNTH_POP"
    assert ("genre",) in imported.guessed


def test_a_release_without_icpn_has_an_empty_upc(tmp_path: Path) -> None:
    xml = render(example_catalog(), example("5060236631114"), "4.3")
    xml = xml.replace(b"<ICPN>5060236631114</ICPN>", b"<ICPN>5060236631115</ICPN>")
    [imported] = import_bytes(xml, tmp_path)
    assert imported.upc == "" and imported.data.get("upc", "") == ""
    assert any("5060236631115" in n.message for n in imported.notes)


def test_ended_deals_take_down(tmp_path: Path) -> None:
    data = example("4250123456789").model.model_dump(mode="json", exclude_none=True)
    for deal in data["deals"]:
        deal["end_date"] = "2025-10-30"
    [imported] = import_bytes(render(example_catalog(), make_release(data), "4.3"), tmp_path)
    assert imported.delivered_action == "takedown"
    assert [deal["end_date"] for deal in imported.data["deals"]] == [dt.date(2025, 10, 30)] * 2


@pytest.mark.parametrize("uri", ["/etc/passwd", "../outside.flac", "file:///etc/passwd"])
def test_files_outside_the_message_folder_are_not_brought_in(uri: str, tmp_path: Path) -> None:
    xml = render(example_catalog(), example("5060236631114"), "4.3")
    xml = re.sub(rb"<URI>[^<]*flac</URI>", f"<URI>{uri}</URI>".encode(), xml)
    [imported] = import_bytes(xml, tmp_path)
    assert [resource.name for resource in imported.resources] == ["cover.jpg"]
    [note] = [n for n in imported.notes if uri in n.message]
    assert note.where.endswith("/File") and "bring it in by hand" in note.message


# --- the shared helpers the 3.8.2 reader uses too ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT3M35S", 215),
        ("PT1H2M5.5S", 3725.5),
        ("P0DT0H3M0S", 180),
        ("PT0.25S", 0.25),
        ("3:35", None),
    ],
)
def test_iso_durations(text: str, seconds: float | None) -> None:
    assert common.duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("stated", "upc"),
    [("00094631432057", "0094631432057"), ("190295810726", "190295810726"), ("5060236631115", "")],
)
def test_icpns(stated: str, upc: str) -> None:
    assert common.icpn(stated) == upc


@pytest.mark.parametrize(
    ("year", "company", "text", "line"),
    [
        (
            None,
            None,
            "(P) 1994 EMI Music Japan Inc.",
            {"year": 1994, "owner": "EMI Music Japan Inc."},
        ),
        ("2015", None, "2015 Parlophone Records", {"year": 2015, "owner": "Parlophone Records"}),
        ("2025", "Indie Records", "(C) 2025 Other", {"year": 2025, "owner": "Indie Records"}),
        (None, None, "℗ Label Only", {"owner": "Label Only"}),
    ],
)
def test_copyright_lines(year: str | None, company: str | None, text: str, line: dict) -> None:
    assert common.copyright_line(year, company, text) == line


def test_deals_split_per_territory_are_merged_and_judged() -> None:
    start = dt.date(2017, 4, 25)
    per_country = [
        common.deal_dict([code], [], [model], ["OnDemandStream"], start, None, None)
        for code in ("AD", "AE", "AF")
        for model in ("SubscriptionModel", "AdvertisementSupportedModel")
    ]
    merged = common.merge_deals(per_country)
    assert [(d["territories"], d["commercial_models"]) for d in merged] == [
        (["AD", "AE", "AF"], ["SubscriptionModel"]),
        (["AD", "AE", "AF"], ["AdvertisementSupportedModel"]),
    ]
    assert not common.is_takedown(merged, dt.date(2030, 1, 1))
    ended = [{**deal, "end_date": dt.date(2020, 1, 1)} for deal in merged]
    assert common.is_takedown(ended, dt.date(2020, 1, 2))
    assert not common.is_takedown(ended, dt.date(2019, 12, 31))
    assert common.is_takedown([], start)


@pytest.mark.parametrize("version", ERN4)
def test_a_purge_release_message_is_refused_as_such_with_its_line(
    version: str, tmp_path: Path
) -> None:
    namespace = f"http://ddex.net/xml/ern/{version.replace('.', '')}"
    path = tmp_path / "purge.xml"
    path.write_text(
        f'<ern:PurgeReleaseMessage xmlns:ern="{namespace}">\n'
        "<MessageHeader><MessageId>M1</MessageId></MessageHeader>\n"
        "<PurgedRelease><ReleaseId><ICPN>0885686123454</ICPN></ReleaseId></PurgedRelease>\n"
        "</ern:PurgeReleaseMessage>\n"
    )
    with pytest.raises(PurgeNotSupported) as caught:
        list(read_ern4(open_message(path, "purge.xml"), ImportContext(genre_lookup())))
    assert caught.value.kind == "PurgeReleaseMessage"
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.path, diagnostic.line) == ("purge.xml", 3)
    assert "PurgedRelease 0885686123454" in diagnostic.message

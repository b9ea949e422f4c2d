"""The ERN 3.8.2 reader: import(render(release)) gives the release back, every 3.8.2 sample is
read and renders XSD-valid again, and what the release file cannot hold is listed by XPath."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from lxml import etree

from stardust_git import xsd
from stardust_git.importers.ern382 import read_ern382
from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.model import ImportContext, ImportedRelease, PurgeNotSupported
from stardust_git.importers.xmlsafe import open_message
from stardust_git.models import Release
from stardust_git.models.release import parse_duration
from stardust_git.render import render_message
from stardust_git.render.ern import contributor_role, territory
from stardust_git.source.catalog import Catalog, Loaded
from tests import test_render_property
from tests.media import write_flac, write_jpeg
from tests.test_render_property import releases, slow_examples
from tests.test_render_support import (
    SAMPLES,
    add_targets,
    context,
    example_catalog,
    example_releases,
    make_release,
    make_target,
    release_data,
    stated_preorders,
)

VERSION = "3.8.2"
TARGET = "ern382"
"""The synthetic 3.8.2 target: no genre map, so genres go out as taxonomy names and come back
exactly (a shop's genre map sends several codes as one value)."""
TODAY = dt.date(2025, 11, 3)
NOT_CARRIED = {
    "targets": "where the release goes is the catalog's plan, not part of any message",
    "takedown": "the catalog's instruction; the message states deals (ended ones for a takedown)",
    "deliver_after": "the catalog's delivery hold",
    "cover": "the package renames the files; the import names them as the example catalog"
    " does (assets/<UPC>/cover.jpg): compared by name below",
    "tracks.audio": "likewise, assets/<UPC>/01.wav ... numbered in play order",
    "release_type": "absent in the catalog means derived; the message states the derived type",
    "tracks.disc": "a release on one disc is written as disc 1 whatever its number",
    "tracks (order)": "the message plays disc by disc; the catalog may list discs interleaved",
    "tracks.artists / parental_warning / language / genre": "the message states each track's "
    "effective value (the release's when the track has none): compared effective",
    "language (of a track)": "3.8.2 takes ISO 639 only: pt-BR is written as pt",
    "contributors": "written one party per contributor with all its roles, performers before "
    "composers, roles in the version's vocabulary: compared as a set of DDEX roles",
    "deals (territories)": "written deduplicated, ISO numeric codes as alpha-2",
    "deals (lists)": "commercial models and use types are written deduplicated",
}
"""Fields a 3.8.2 message cannot give back as the catalog wrote them, and why."""
EXPECTED_NOTES = {
    "MessageHeader[1]/MessageThreadId",
    "MessageHeader[1]/MessageSender",
    "MessageHeader[1]/MessageRecipient",
    "MessageHeader[1]/MessageControlType",
    "ImageId",
}
"""The only elements of our own 3.8.2 messages the release file does not hold: the delivery's
envelope and the cover's proprietary id (derived from the UPC)."""


@pytest.fixture(scope="module")
def lookup() -> ImportContext:
    return ImportContext(GenreLookup.from_catalog(example_catalog()))


def imported(xml: bytes, folder: Path, lookup: ImportContext) -> list[ImportedRelease]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "message.xml"
    path.write_bytes(xml)
    return list(read_ern382(open_message(path, path.name), lookup))


def rendered(
    catalog: Catalog, loaded: Loaded[Release], action: str = "initial", target: str = TARGET
) -> bytes:
    return render_message(catalog, loaded, target, action, context(today=TODAY))


def example_tree(name: str) -> etree._Element:
    """The example release ``catalog/<name>.yaml`` rendered for the 3.8.2 target, parsed."""
    catalog = example_catalog()
    return etree.fromstring(rendered(catalog, catalog.releases[f"catalog/{name}.yaml"]))


# --- comparing releases ------------------------------------------------------------------------


def comparable(release: Release) -> dict[str, Any]:
    """The release as a 3.8.2 message can state it (see NOT_CARRIED)."""
    data = release.model_dump(mode="json", exclude={"targets", "takedown", "deliver_after"})
    data["cover"] = None
    data["release_type"] = release.effective_release_type()
    discs = sorted({track.disc for track in release.tracks})
    ordered = sorted(release.tracks, key=lambda track: track.disc)
    data["tracks"] = [_track(release, track, len(discs) > 1) for track in ordered]
    data["deals"] = [_deal(deal) for deal in data["deals"]]
    return data


def _track(release: Release, track: Any, several_discs: bool) -> dict[str, Any]:
    data = track.model_dump(mode="json", exclude={"audio", "contributors"})
    data["disc"] = track.disc if several_discs else 1
    data["duration"] = round(track.duration, 3)
    data["artists"] = [a.model_dump() for a in track.artists or release.artists]
    data["parental_warning"] = track.parental_warning or release.parental_warning
    data["language"] = (track.language or release.language).split("-")[0]
    data["genre"] = track.genre or release.genre
    data["contributors"] = sorted(
        {(c.name, c.isni, c.ipi, contributor_role(c.role, VERSION)) for c in track.contributors},
        key=repr,
    )
    return data


def _deal(deal: dict[str, Any]) -> dict[str, Any]:
    for key in ("territories", "excluded_territories"):
        deal[key] = list(dict.fromkeys(territory(code, VERSION) for code in deal[key]))
    for key in ("commercial_models", "use_types"):
        deal[key] = list(dict.fromkeys(deal[key]))
    return deal


def assert_round_trip(original: Release, back: ImportedRelease) -> None:
    again = comparable(Release.model_validate(back.data))
    expected = comparable(stated_preorders(original, TODAY))
    for index, track in enumerate(expected.pop("tracks")):
        assert again["tracks"][index] == track, index
    assert len(again.pop("tracks")) == len(original.tracks)
    assert again == expected
    assert back.data["cover"] == f"assets/{original.upc}/cover{Path(original.cover).suffix}"
    audio = [Path(track["audio"]) for track in back.data["tracks"]]
    assert [(path.parent, path.stem) for path in audio] == [
        (Path("assets", original.upc), f"{number:02}") for number in range(1, len(audio) + 1)
    ]


# --- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(example_releases()))
def test_every_example_release_comes_back_from_its_3_8_2_message(
    path: str, lookup: ImportContext, tmp_path: Path
) -> None:
    catalog = example_catalog()
    loaded = catalog.releases[path]
    (back,) = imported(rendered(catalog, loaded), tmp_path, lookup)
    assert_round_trip(loaded.model, back)
    assert back.upc == loaded.model.upc
    assert back.version == VERSION
    assert back.delivered_action == "initial"
    assert back.message_id.startswith(loaded.model.upc)
    assert back.message_created.startswith("2025-11-03T14:05:09")
    names = {resource.name for resource in back.resources}
    assert len(names) == len(loaded.model.tracks) + 1
    assert all(r.md5 and len(r.md5) == 32 for r in back.resources)


property_catalog = test_render_property.catalog
"""Tiny real media under assets/p/, as the renderer's property test uses them."""


@slow_examples(40)
@given(data=releases())
def test_generated_releases_come_back_from_their_3_8_2_message(
    data: dict[str, Any], property_catalog: Catalog, lookup: ImportContext, tmp_path: Path
) -> None:
    loaded = make_release(data)
    (back,) = imported(rendered(property_catalog, loaded), tmp_path / "m", lookup)
    assert_round_trip(loaded.model, back)


# --- our own messages: notes, takedowns, discs, deals ------------------------------------------


def test_only_the_envelope_of_our_own_messages_is_not_carried(
    lookup: ImportContext, tmp_path: Path
) -> None:
    catalog = example_catalog()
    for path, loaded in catalog.releases.items():
        (back,) = imported(rendered(catalog, loaded), tmp_path / Path(path).stem, lookup)
        unmapped = {n.where for n in back.notes if n.kind == "unmapped"}
        leftovers = {
            where
            for where in unmapped
            if not any(where.endswith(expected) for expected in EXPECTED_NOTES)
        }
        assert leftovers == set(), path
        assert all(where.startswith("/NewReleaseMessage/") for where in unmapped)


def test_a_takedown_message_imports_as_taken_down(lookup: ImportContext, tmp_path: Path) -> None:
    catalog = example_catalog()
    loaded = catalog.releases["catalog/kid-sable/night-shift.yaml"]
    (back,) = imported(rendered(catalog, loaded, "takedown"), tmp_path, lookup)
    assert back.delivered_action == "takedown"
    ended = [deal["end_date"] for deal in back.data["deals"]]
    assert ended == [TODAY - dt.timedelta(days=2)] * 2
    # The takedown goes without its files: nothing to bring in, and the note says so.
    assert back.resources == []
    assert any("no cover image file" in note.message for note in back.notes)


def test_the_deprecated_takedown_form_imports_as_taken_down(
    lookup: ImportContext, tmp_path: Path
) -> None:
    catalog = example_catalog()
    catalog.targets["ern382td"] = make_target(VERSION, takedown_form="TakeDown")
    loaded = catalog.releases["catalog/kid-sable/night-shift.yaml"]
    xml = rendered(catalog, loaded, "takedown", "ern382td")
    assert b"<TakeDown>true</TakeDown>" in xml
    (back,) = imported(xml, tmp_path, lookup)
    assert back.delivered_action == "takedown"
    assert "deals" not in back.data
    takedowns = [note for note in back.notes if "taken down" in note.message]
    assert [note.message for note in takedowns] == [
        "taken down in US, CA from 2025-11-02",
        "taken down in DE, FR, GB, NO from 2025-11-02",
    ]
    assert all("/DealList/ReleaseDeal[1]/Deal" in note.where for note in takedowns)


def test_a_message_without_deals_is_a_takedown(lookup: ImportContext, tmp_path: Path) -> None:
    root = example_tree("nova-lane/first-light")
    root.remove(root.find("DealList"))
    (back,) = imported(etree.tostring(root), tmp_path, lookup)
    assert back.delivered_action == "takedown"
    assert "deals" not in back.data


def test_discs_and_track_order_come_from_the_resource_groups(
    lookup: ImportContext, tmp_path: Path
) -> None:
    catalog = example_catalog()
    loaded = catalog.releases["catalog/the-meridians/longitude.yaml"]
    (back,) = imported(rendered(catalog, loaded), tmp_path, lookup)
    source = etree.parse(str(tmp_path / "message.xml")).getroot()
    groups = source.findall(
        "ReleaseList/Release/ReleaseDetailsByTerritory/ResourceGroup/ResourceGroup"
    )
    assert len(groups) == 2
    expected = [
        (int(group.findtext("SequenceNumber")), isrc)
        for group in groups
        for isrc in _group_isrcs(source, group)
    ]
    assert [(t["disc"], t["isrc"]) for t in back.data["tracks"]] == expected
    assert {disc for disc, _ in expected} == {1, 2}


def _group_isrcs(root: etree._Element, group: etree._Element) -> list[str]:
    isrc_of = {
        r.findtext("ResourceReference"): r.findtext("SoundRecordingId/ISRC")
        for r in root.iterfind("ResourceList/SoundRecording")
    }
    items = sorted(
        group.iterfind("ResourceGroupContentItem"), key=lambda i: int(i.findtext("SequenceNumber"))
    )
    return [isrc_of[item.findtext("ReleaseResourceReference")] for item in items]


def test_shuffled_content_items_are_put_in_sequence(lookup: ImportContext, tmp_path: Path) -> None:
    root = example_tree("beach-band/summer-vibes")
    group = root.find("ReleaseList/Release/ReleaseDetailsByTerritory/ResourceGroup")
    items = group.findall("ResourceGroupContentItem")
    for item in items:
        group.remove(item)
    group.extend(reversed(items))
    (back,) = imported(etree.tostring(root), tmp_path, lookup)
    source = example_catalog().releases["catalog/beach-band/summer-vibes.yaml"].model
    assert [t["isrc"] for t in back.data["tracks"]] == [t.isrc for t in source.tracks]


def test_several_deals_in_several_release_deals_all_arrive(
    lookup: ImportContext, tmp_path: Path
) -> None:
    root = example_tree("kid-sable/night-shift")
    release_deal = root.find("DealList/ReleaseDeal")
    second = etree.SubElement(root.find("DealList"), "ReleaseDeal")
    etree.SubElement(second, "DealReleaseReference").text = "R0"
    second.append(release_deal.findall("Deal")[1])
    (back,) = imported(etree.tostring(root), tmp_path, lookup)
    deals = back.data["deals"]
    assert [d["territories"] for d in deals] == [["US", "CA"], ["DE", "FR", "GB", "NO"]]
    assert [d["use_types"] for d in deals] == [["OnDemandStream"], ["PermanentDownload"]]
    assert [d["start_date"] for d in deals] == [dt.date(2025, 10, 17), dt.date(2025, 10, 24)]


def test_a_batch_message_gives_each_main_release_its_own_tracks_and_deals(
    lookup: ImportContext, tmp_path: Path
) -> None:
    """Two messages merged into one: resources and releases renumbered, one DealList."""
    first, second = example_tree("nova-lane/first-light"), example_tree("kid-sable/night-shift")
    for element in second.iter(
        "ResourceReference", "ReleaseResourceReference", "ReleaseReference", "DealReleaseReference"
    ):
        element.text = "B" + element.text
    for tag in ("ResourceList", "ReleaseList", "DealList"):
        first.find(tag).extend(list(second.find(tag)))
    (one, two) = imported(etree.tostring(first), tmp_path, lookup)
    assert (one.upc, two.upc) == ("5060236631114", "4250123456789")
    assert [t["isrc"] for t in one.data["tracks"]] == ["GBXYZ2500001"]
    assert [t["isrc"] for t in two.data["tracks"]] == ["DEXYZ2500101", "DEXYZ2500102"]
    assert len(one.data["deals"]) == 1 and len(two.data["deals"]) == 2
    # The header belongs to no release: it is told once, with the first.
    thread = "/NewReleaseMessage/MessageHeader[1]/MessageThreadId"
    assert [thread in {n.where for n in r.notes} for r in (one, two)] == [True, False]
    assert {r.resources[0].name for r in (one, two)} == {"cover.jpg", "cover.png"}


def test_unknown_elements_are_listed_with_their_xpath(
    lookup: ImportContext, tmp_path: Path
) -> None:
    root = example_tree("nova-lane/first-light")
    details = root.find("ReleaseList/Release/ReleaseDetailsByTerritory")
    keywords = etree.Element("Keywords")
    keywords.text = "sunrise"
    details.find("Genre").addprevious(keywords)
    (back,) = imported(etree.tostring(root), tmp_path, lookup)
    wheres = [n.where for n in back.notes if n.kind == "unmapped"]
    assert "/NewReleaseMessage/ReleaseList/Release[1]/ReleaseDetailsByTerritory/Keywords" in wheres


# --- the 3.8.2 samples -------------------------------------------------------------------------

SAMPLE_FILES = sorted((SAMPLES / "ern382").glob("*.xml"))


def sample_root(path: Path) -> etree._Element:
    return etree.parse(
        str(path), etree.XMLParser(resolve_entities=False, no_network=True)
    ).getroot()


def test_there_are_3_8_2_samples() -> None:
    assert len(SAMPLE_FILES) >= 4


def test_a_purge_release_message_is_refused_with_its_line(lookup: ImportContext) -> None:
    path = SAMPLES / "ern382" / "03_delete.xml"
    with pytest.raises(PurgeNotSupported) as caught:
        list(read_ern382(open_message(path, "03_delete.xml"), lookup))
    assert caught.value.kind == "PurgeReleaseMessage"
    (diagnostic,) = caught.value.diagnostics
    purged = sample_root(path).find("PurgedRelease")
    assert (diagnostic.path, diagnostic.line) == ("03_delete.xml", purged.sourceline)
    assert "PurgeReleaseMessage" in diagnostic.message
    assert purged.findtext("ReleaseId/GRid") in diagnostic.message


NEW_RELEASE_SAMPLES = [p for p in SAMPLE_FILES if sample_root(p).tag.endswith("NewReleaseMessage")]


@pytest.mark.parametrize("path", NEW_RELEASE_SAMPLES, ids=lambda p: p.name)
def test_samples_render_again_keeping_ids_titles_artists_durations_and_deals(
    path: Path, lookup: ImportContext, tmp_path: Path
) -> None:
    (back,) = list(read_ern382(open_message(path, path.name), lookup))
    data = completed(back, tmp_path)
    catalog = add_targets(Catalog(root=tmp_path))
    xml = rendered(catalog, make_release(data))
    assert xsd.validate_xml(xml, VERSION) == []
    assert_kept(sample_root(path), etree.fromstring(xml))


def completed(back: ImportedRelease, root: Path) -> dict[str, Any]:
    """The imported data with what the sample does not state filled in, and its files made."""
    data = {
        **release_data(),
        **back.data,
        "upc": back.upc or "1234567890128",
        "language": back.data.get("language", "en"),
        "c_line": back.data.get("c_line", back.data["p_line"]),
    }
    write_jpeg(root / data["cover"], size=32)
    for track in data["tracks"]:
        write_flac(root / track["audio"], seconds=0.1)
    return data


def assert_kept(sample: etree._Element, ours: etree._Element) -> None:
    def texts(root: etree._Element, path: str) -> list[str]:
        return [" ".join(e.text.split()) for e in root.iterfind(path)]

    def seconds(root: etree._Element) -> list[float]:
        return [parse_duration(t) for t in texts(root, "ResourceList/SoundRecording/Duration")]

    for path in (
        "ResourceList/SoundRecording/SoundRecordingId/ISRC",
        "ResourceList/SoundRecording/ReferenceTitle/TitleText",
        "ReleaseList/Release/ReleaseId/ICPN",
        "ReleaseList/Release/ReleaseDetailsByTerritory/DisplayArtist/PartyName/FullName",
        "ReleaseList/Release/ReleaseDetailsByTerritory/DisplayArtist/ArtistRole",
        "ReleaseList/Release/ReleaseDetailsByTerritory/LabelName",
    ):
        found = texts(sample, path)
        if found:
            assert texts(ours, path)[: len(found)] == found, path
    main = "ReleaseList/Release[@IsMainRelease='true']"
    assert (
        texts(ours, f"{main}/ReferenceTitle/TitleText")
        == texts(sample, "ReleaseList/Release/ReferenceTitle/TitleText")[:1]
    )
    assert seconds(ours) == seconds(sample)
    for path in (
        "DealList/ReleaseDeal/Deal/DealTerms/CommercialModelType",
        "DealList/ReleaseDeal/Deal/DealTerms/Usage/UseType",
        "DealList/ReleaseDeal/Deal/DealTerms/TerritoryCode",
        "DealList/ReleaseDeal/Deal/DealTerms/ValidityPeriod/StartDate",
    ):
        assert texts(ours, path) == texts(sample, path), path


def test_sample_notes_name_what_the_release_file_cannot_hold(lookup: ImportContext) -> None:
    path = SAMPLES / "ern382" / "01_delivery.xml"
    (back,) = list(read_ern382(open_message(path, path.name), lookup))
    unmapped = {n.where for n in back.notes if n.kind == "unmapped"}
    recording = "/NewReleaseMessage/ResourceList/SoundRecording[1]"
    sample = sample_root(path)
    for element in sample.iterfind(
        "ResourceList/SoundRecording/SoundRecordingDetailsByTerritory/*"
    ):
        tag = etree.QName(element).localname
        if tag in ("RightsController", "OriginalResourceReleaseDate"):
            assert f"{recording}/SoundRecordingDetailsByTerritory/{tag}" in unmapped
    assert f"{recording}/SoundRecordingId/ProprietaryId" in unmapped
    assert "/NewReleaseMessage/ReleaseList/Release[1]/ReleaseId" in unmapped
    assert back.upc == "" and any("no ICPN" in n.message for n in back.notes)
    assert back.guessed == {("p_line",): "guessed: the first track's P line"}
    assert back.data["p_line"] == {
        "year": int(sample.findtext(".//SoundRecordingDetailsByTerritory/PLine/Year")),
        "owner": sample.findtext(".//SoundRecordingDetailsByTerritory/PLine/PLineText"),
    }
    folder = path.parent
    assert {(r.source, r.md5) for r in back.resources} == {
        (folder / e.findtext("FilePath") / e.findtext("FileName"), None)
        for e in sample.iter("File")
    }


def test_roles_the_catalog_lacks_are_guessed_or_noted(
    lookup: ImportContext, tmp_path: Path
) -> None:
    root = example_tree("nova-lane/first-light")
    release_role = root.find(
        "ReleaseList/Release/ReleaseDetailsByTerritory/DisplayArtist/ArtistRole"
    )
    release_role.text = "Conductor"
    contributor = root.find(
        "ResourceList/SoundRecording/SoundRecordingDetailsByTerritory/ResourceContributor"
    )
    contributor.find("ResourceContributorRole").text = "Band"
    name = contributor.findtext("PartyName/FullName")
    (back,) = imported(etree.tostring(root), tmp_path, lookup)
    assert back.data["artists"][0]["role"] == "Artist"
    comment = "guessed: the message says 'Conductor'"
    assert back.guessed[("artists", 0, "role")] == comment
    assert any(n.kind == "guessed" and n.message.endswith(comment) for n in back.notes)
    (band,) = [c for c in back.data["tracks"][0]["contributors"] if c["role"] == "Band"]
    assert band["name"] == name
    assert any("'Band' has no catalog name" in n.message for n in back.notes)


@pytest.mark.parametrize("folder", ["../outside/", "/../", "C:/music/"])
def test_a_file_outside_the_message_folder_is_not_brought_in(
    folder: str, lookup: ImportContext, tmp_path: Path
) -> None:
    root = example_tree("nova-lane/first-light")
    root.find("ResourceList/SoundRecording//File/FilePath").text = folder
    (back,) = imported(etree.tostring(root), tmp_path / "in", lookup)
    sources = [resource.source for resource in back.resources]
    assert all(source.resolve().is_relative_to((tmp_path / "in").resolve()) for source in sources)
    assert [resource.name[-4:] for resource in back.resources] == [".jpg"]
    assert "audio" not in back.data["tracks"][0]
    recording = "/NewReleaseMessage/ResourceList/SoundRecording[1]/SoundRecordingDetailsByTerritory"
    assert f"{recording}/TechnicalSoundRecordingDetails/File" in {n.where for n in back.notes}


def test_values_that_cannot_be_read_are_named(lookup: ImportContext, tmp_path: Path) -> None:
    root = example_tree("nova-lane/first-light")
    root.find("ResourceList/SoundRecording/Duration").text = "three minutes"
    root.find("ReleaseList/Release/ReleaseDetailsByTerritory/ReleaseDate").text = "2025-13-45"
    root.find("ReleaseList/Release/GlobalReleaseDate").text = "2025-13-45"
    (back,) = imported(etree.tostring(root), tmp_path, lookup)
    assert "duration" not in back.data["tracks"][0]
    assert "release_date" not in back.data
    messages = {(n.where, n.message) for n in back.notes}
    recording = "/NewReleaseMessage/ResourceList/SoundRecording[1]"
    assert (f"{recording}/Duration", "'three minutes' is not an ISO 8601 duration") in messages
    release = "/NewReleaseMessage/ReleaseList/Release[1]"
    assert (release, "release_date: '2025-13-45' is not a date (YYYY-MM-DD)") in messages

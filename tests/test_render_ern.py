"""ERN 3.8.2 / 4.2 / 4.3 rendering: XSD-valid, complete, deterministic, with DDEX takedowns."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from stardust_git import rules, xsd
from stardust_git.render import RenderError, render_message, render_package
from stardust_git.render.genres import GenreMappingError, map_genre
from stardust_git.source.catalog import Catalog
from tests.media import write_flac, write_jpeg, write_mp3, write_png, write_wav
from tests.test_render_support import (
    ACTIONS,
    COMMIT,
    COMMITTED_AT,
    REPO_ROOT,
    VERSIONS,
    add_targets,
    context,
    example_catalog,
    example_releases,
    make_release,
    make_target,
    release_data,
    target_name,
)

EXAMPLES = sorted(example_releases())
TODAY = COMMITTED_AT.date()


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in root.iterfind(path)]


@pytest.fixture(scope="module")
def test_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository folder with tiny real media for synthetic releases (assets/t/...)."""
    root = tmp_path_factory.mktemp("catalog")
    write_jpeg(root / "assets/t/cover.jpg", size=64)
    write_png(root / "assets/t/cover.png", size=64)
    write_wav(root / "assets/t/01.wav", seconds=0.2, rate=44100, channels=2)
    write_wav(root / "assets/t/02.wav", seconds=0.2)
    write_flac(root / "assets/t/03.flac", seconds=0.2, rate=48000, bits=24)
    write_mp3(root / "assets/t/04.mp3", seconds=0.3)
    return root


@pytest.fixture
def catalog(test_root: Path) -> Catalog:
    return add_targets(Catalog(root=test_root))


def render(catalog: Catalog, data: dict, version: str, action: str = "initial", **kwargs) -> bytes:
    loaded = make_release(data)
    return render_message(catalog, loaded, target_name(version), action, context(), **kwargs)


def assert_valid(xml: bytes, version: str) -> None:
    problems = xsd.validate_xml(xml, version)
    assert not problems, "\n".join(f"{p.line}: {p.xpath}: {p.message}" for p in problems)


# --- the example catalog ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", EXAMPLES)
def test_every_example_release_renders_xsd_valid(path: str, version: str, action: str) -> None:
    catalog = example_catalog()
    xml = render_message(catalog, catalog.releases[path], target_name(version), action, context())
    assert_valid(xml, version)
    assert xsd.version_of(xml) == version
    assert rules.check_message(tree(xml), action, TODAY) == []


@pytest.mark.parametrize("path", EXAMPLES)
def test_example_releases_render_for_their_own_ern_targets(path: str) -> None:
    catalog = example_catalog()
    loaded = catalog.releases[path]
    ern_targets = [n for n in loaded.model.targets if catalog.targets[n].model.format == "ern"]
    assert ern_targets
    for name in ern_targets:
        version = catalog.targets[name].model.ern_version
        assert_valid(render_message(catalog, loaded, name, "initial", context()), version)


def test_album_carries_everything_issue_3_lists() -> None:
    catalog = example_catalog()
    loaded = next(r for r in catalog.releases.values() if r.model.upc == "0885686123454")
    root = tree(render_message(catalog, loaded, "ern43", "initial", context()))
    recordings = root.findall("ResourceList/SoundRecording")
    assert len(recordings) == 12
    first = recordings[0]
    assert first.findtext("SoundRecordingEdition/ResourceId/ISRC") == "USIR12500001"
    assert first.findtext("Duration") == "PT3S"
    assert first.findtext("ParentalWarningType") == "NotExplicit"
    delivery = first.find("SoundRecordingEdition/TechnicalDetails/DeliveryFile")
    assert delivery.findtext("AudioCodecType") == "FLAC"
    assert delivery.findtext("NumberOfChannels") == "2"
    assert delivery.findtext("SamplingRate") == "44100"
    assert delivery.findtext("BitsPerSample") == "16"
    assert delivery.findtext("File/URI") == "resources/0885686123454_01_001.flac"
    audio = REPO_ROOT / "assets/0885686123454/01.flac"
    assert (
        delivery.findtext("File/HashSum/HashSumValue")
        == hashlib.md5(audio.read_bytes()).hexdigest()
    )
    # the producer is StudioProducer in 4.x, with the composer role on the same party
    assert texts(first, "Contributor/Role")[:2] == ["StudioProducer", "Composer"]
    featured = recordings[6]
    assert featured.findtext("DisplayArtistName") == "The Meridians feat. Solenne"
    assert texts(featured, "DisplayArtist/DisplayArtistRole") == ["MainArtist", "FeaturedArtist"]
    # disc 2, track 1
    assert recordings[6].findtext(".//File/URI") == "resources/0885686123454_02_001.flac"
    image = root.find("ResourceList/Image")
    assert image.findtext("Type") == "FrontCoverImage"
    assert image.findtext("TechnicalDetails/ImageWidth") == "3000"
    release = root.find("ReleaseList/Release")
    assert release.findtext("ReleaseId/ICPN") == "0885686123454"
    assert release.findtext("ReleaseType") == "Album"
    assert release.findtext("Genre/GenreText") == "Electronic"
    assert release.findtext("Genre/SubGenre") == "House"
    groups = release.findall("ResourceGroup/ResourceGroup")
    assert [g.findtext("SequenceNumber") for g in groups] == ["1", "2"]
    assert len(root.findall("ReleaseList/TrackRelease")) == 12
    deal_refs = texts(root, "DealList/ReleaseDeal/DealReleaseReference")
    assert deal_refs == ["R0", *(f"R{n}" for n in range(1, 13))]
    price = root.find("DealList/ReleaseDeal/Deal[2]/DealTerms/PriceInformation/PriceCode")
    assert price.text == "1"
    party_names = texts(root, "PartyList/Party/PartyName/FullName")
    assert len(party_names) == len(set(party_names))  # Ada Moreno appears once
    assert release.findtext("ReleaseLabelReference") in texts(
        root, "PartyList/Party/PartyReference"
    )


def test_3_8_2_writes_parties_inline_with_its_own_roles() -> None:
    catalog = example_catalog()
    loaded = next(r for r in catalog.releases.values() if r.model.upc == "4250123456789")
    root = tree(render_message(catalog, loaded, "ern382", "initial", context()))
    assert root.get("MessageSchemaVersionId") == "ern/382"
    details = root.find("ResourceList/SoundRecording/SoundRecordingDetailsByTerritory")
    assert texts(details, "ResourceContributor/ResourceContributorRole") == ["Producer"]
    indirect = details.find("IndirectResourceContributor")
    assert indirect.findtext("PartyName/FullName") == "Kid Sable"
    assert indirect.findtext("IndirectResourceContributorRole") == "ComposerLyricist"
    assert (
        details.findtext("TechnicalSoundRecordingDetails/File/FileName")
        == "4250123456789_01_001.mp3"
    )
    assert details.findtext("TechnicalSoundRecordingDetails/File/FilePath") == "resources/"
    releases = root.findall("ReleaseList/Release")
    assert releases[0].get("IsMainRelease") == "true"
    assert [r.findtext("ReleaseType") for r in releases] == [
        "Single",
        "TrackRelease",
        "TrackRelease",
    ]
    assert releases[2].findtext("ReleaseId/ISRC") == "DEXYZ2500102"
    assert root.find("UpdateIndicator") is None  # the target did not ask for it


# --- header, determinism, fingerprint ----------------------------------------------------------


def test_header_derives_from_commit_release_and_target() -> None:
    catalog = example_catalog()
    loaded = catalog.releases[EXAMPLES[0]]
    upc = loaded.model.upc
    root = tree(render_message(catalog, loaded, "ern43", "initial", context()))
    header = root.find("MessageHeader")
    assert header.findtext("MessageThreadId") == f"{upc}-ern43"
    assert header.findtext("MessageId").startswith(f"{upc}-{COMMIT[:12]}-")
    assert header.findtext("MessageCreatedDateTime") == "2025-11-03T14:05:09.000Z"
    assert header.findtext("MessageControlType") == "LiveMessage"
    assert header.findtext("MessageSender/PartyId") == "PADPIDA2025110101D"
    other = tree(render_message(catalog, loaded, "ern42", "initial", context()))
    assert other.findtext("MessageHeader/MessageId") != header.findtext("MessageId")
    later = context(commit="9" * 40, at=COMMITTED_AT + dt.timedelta(hours=1))
    again = tree(render_message(catalog, loaded, "ern43", "initial", later))
    assert again.findtext("MessageHeader/MessageThreadId") == header.findtext("MessageThreadId")
    assert again.findtext("MessageHeader/MessageId") != header.findtext("MessageId")
    assert again.findtext("MessageHeader/MessageCreatedDateTime") == "2025-11-03T15:05:09.000Z"


def test_test_targets_send_test_messages(catalog: Catalog) -> None:
    catalog.targets["ern43"] = make_target("4.3", message_control_type="TestMessage")
    root = tree(render(catalog, release_data(), "4.3"))
    assert root.findtext("MessageHeader/MessageControlType") == "TestMessage"


@pytest.mark.parametrize("version", VERSIONS)
def test_same_inputs_give_identical_bytes(version: str) -> None:
    catalog = example_catalog()
    loaded = catalog.releases[EXAMPLES[-1]]
    first = render_message(catalog, loaded, target_name(version), "initial", context())
    second = render_message(catalog, loaded, target_name(version), "initial", context())
    assert first == second


_OTHER_PROCESS = """
import sys, hashlib
sys.path.insert(0, {root!r})
from tests.test_render_support import example_catalog, context, target_name, VERSIONS
from stardust_git.render import render_message
catalog = example_catalog()
for path in sorted(catalog.releases):
    for version in VERSIONS:
        loaded = catalog.releases[path]
        xml = render_message(catalog, loaded, target_name(version), "initial", context())
        print(path, version, hashlib.sha256(xml).hexdigest())
"""


def test_another_process_renders_the_same_bytes() -> None:
    catalog = example_catalog()
    here = [
        f"{path} {version} "
        + hashlib.sha256(
            render_message(
                catalog, catalog.releases[path], target_name(version), "initial", context()
            )
        ).hexdigest()
        for path in sorted(catalog.releases)
        for version in VERSIONS
    ]
    script = _OTHER_PROCESS.format(root=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert done.stdout.split("\n")[:-1] == here


def test_fingerprint_ignores_the_commit_but_not_the_content(catalog: Catalog) -> None:
    loaded = make_release(release_data())
    first = render_package(catalog, loaded, "ern43", "initial", context())
    later = context(commit="2" * 40, at=COMMITTED_AT + dt.timedelta(days=3))
    second = render_package(catalog, loaded, "ern43", "initial", later)
    assert first.message_id != second.message_id
    assert first.message.data != second.message.data
    assert first.fingerprint == second.fingerprint
    retitled = make_release(release_data(title="Another Title"))
    assert render_package(catalog, retitled, "ern43", "initial", context()).fingerprint != (
        first.fingerprint
    )
    swapped = make_release(release_data(cover="assets/t/cover.png"))
    assert render_package(catalog, swapped, "ern43", "initial", context()).fingerprint != (
        first.fingerprint
    )


def test_update_fingerprints_like_the_initial_delivery(catalog: Catalog) -> None:
    # the deal starts on the render date, so the update moves it to yesterday; 3.8.2 also
    # flags the update: neither is a change of content
    catalog.targets["ern382"] = make_target("3.8.2", update_indicator=True)
    data = release_data(deals=[{**release_data()["deals"][0], "start_date": str(TODAY)}])
    loaded = make_release(data)
    for version in VERSIONS:
        initial = render_package(catalog, loaded, target_name(version), "initial", context())
        update = render_package(catalog, loaded, target_name(version), "update", context())
        assert initial.message.data != update.message.data
        assert initial.fingerprint == update.fingerprint


def test_package_lists_renamed_resources_then_the_message(catalog: Catalog) -> None:
    tracks = [
        {"isrc": "USABC2500001", "title": "A", "duration": 1, "audio": "assets/t/01.wav"},
        {
            "isrc": "USABC2500002",
            "title": "B",
            "duration": 1,
            "audio": "assets/t/03.flac",
            "disc": 2,
        },
        {
            "isrc": "USABC2500003",
            "title": "C",
            "duration": 1,
            "audio": "assets/t/04.mp3",
            "disc": 2,
        },
    ]
    loaded = make_release(release_data(tracks=tracks, cover="assets/t/cover.png"))
    package = render_package(catalog, loaded, "ern43", "initial", context())
    assert [f.name for f in package.files] == [
        "resources/1234567890128_01_001.wav",
        "resources/1234567890128_02_001.flac",
        "resources/1234567890128_02_002.mp3",
        "resources/1234567890128.png",
        "1234567890128.xml",
    ]
    assert (
        package.files[1].md5
        == hashlib.md5((catalog.root / "assets/t/03.flac").read_bytes()).hexdigest()
    )
    assert package.files[1].source == (catalog.root / "assets/t/03.flac").resolve()
    assert package.message.md5 == hashlib.md5(package.message.data).hexdigest()
    assert package.message.size == len(package.message.data)
    assert (package.format, package.release_id, package.sender) == (
        "ern/4.3",
        "1234567890128",
        "PADPIDA2025110101D",
    )
    root = tree(package.message.data)
    assert texts(root, ".//DeliveryFile/File/URI") == [f.name for f in package.files[:3]]
    # the real files' details; MP3 has no bit depth
    assert texts(root, ".//DeliveryFile/BitsPerSample") == ["16", "24"]
    assert texts(root, ".//DeliveryFile/SamplingRate") == ["44100", "48000", "44100"]
    assert texts(root, ".//DeliveryFile/AudioCodecType") == ["PCM", "FLAC", "MP3"]


# --- initial, update, takedown -------------------------------------------------------------


def deals_of(root: etree._Element) -> list[etree._Element]:
    return root.findall("DealList/ReleaseDeal/Deal/DealTerms")


@pytest.mark.parametrize("version", VERSIONS)
def test_takedown_ends_every_deal_two_days_back_by_default(catalog: Catalog, version: str) -> None:
    # "yesterday" (UTC) is still today west of UTC: only two days back is past everywhere
    root = tree(render(catalog, release_data(), version, "takedown"))
    terms = deals_of(root)
    assert len(terms) == 1
    assert terms[0].findtext("ValidityPeriod/EndDate") == "2025-11-01"  # TODAY is 2025-11-03
    assert terms[0].findtext("ValidityPeriod/StartDate") == "2025-06-01"  # as the catalog says
    assert terms[0].find("TakeDown") is None
    assert rules.check_message(root, "takedown", TODAY) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_takedown_end_days_ago_is_a_target_setting(catalog: Catalog, version: str) -> None:
    catalog.targets[target_name(version)] = make_target(version, takedown_end_days_ago=5)
    root = tree(render(catalog, release_data(), version, "takedown"))
    assert [t.findtext("ValidityPeriod/EndDate") for t in deals_of(root)] == ["2025-10-29"]
    assert rules.check_message(root, "takedown", TODAY) == []


def test_takedown_end_days_ago_below_two_is_refused() -> None:
    with pytest.raises(AssertionError, match="takedown_end_days_ago"):
        make_target("4.3", takedown_end_days_ago=1)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pre_order_takedown_withdraws_the_unstarted_deal(catalog: Catalog, version: str) -> None:
    # a pre-order: one deal starts in ten days; the old takedown pulled its start back to the
    # end date, a live window that never existed
    pre_order = {**release_data()["deals"][0], "start_date": "2025-11-13"}
    started = {**release_data()["deals"][0], "territories": ["US"], "start_date": "2025-06-01"}
    only = tree(render(catalog, release_data(deals=[pre_order]), version, "takedown"))
    assert only.find("DealList") is None  # ERN: a release without any deal is taken down
    assert_valid(etree.tostring(only), version)
    mixed = tree(render(catalog, release_data(deals=[started, pre_order]), version, "takedown"))
    periods = [
        (t.findtext("ValidityPeriod/StartDate"), t.findtext("ValidityPeriod/EndDate"))
        for t in deals_of(mixed)
    ]
    assert periods == [("2025-06-01", "2025-11-01")]
    assert_valid(etree.tostring(mixed), version)
    assert rules.check_message(mixed, "takedown", TODAY) == []


def test_a_deal_started_yesterday_is_withdrawn_not_given_a_window(catalog: Catalog) -> None:
    # it started after the takedown's end date (two days back): no window ends before it began
    recent = {**release_data()["deals"][0], "start_date": "2025-11-02"}
    root = tree(render(catalog, release_data(deals=[recent]), "4.3", "takedown"))
    assert root.find("DealList") is None


def test_3_8_2_takedown_form_withdraws_a_pre_order_with_an_explicit_takedown(
    catalog: Catalog,
) -> None:
    catalog.targets["ern382"] = make_target("3.8.2", takedown_form="TakeDown")
    pre_order = {**release_data()["deals"][0], "start_date": "2025-11-13"}
    root = tree(render(catalog, release_data(deals=[pre_order]), "3.8.2", "takedown"))
    (terms,) = deals_of(root)
    assert terms.findtext("TakeDown") == "true"
    assert texts(terms, "ValidityPeriod/StartDate") == ["2025-11-02"]  # effective, no window
    assert terms.find("ValidityPeriod/EndDate") is None
    assert_valid(etree.tostring(root), "3.8.2")


@pytest.mark.parametrize("update_indicator", [False, True])
@pytest.mark.parametrize("takedown_form", ["end-dated", "TakeDown"])
@pytest.mark.parametrize("action", ACTIONS)
def test_3_8_2_update_indicator_and_takedown_form_are_separate_settings(
    catalog: Catalog, update_indicator: bool, takedown_form: str, action: str
) -> None:
    catalog.targets["ern382"] = make_target(
        "3.8.2", update_indicator=update_indicator, takedown_form=takedown_form
    )
    xml = render(catalog, release_data(), "3.8.2", action)
    assert_valid(xml, "3.8.2")
    root = tree(xml)
    indicator = {"initial": "OriginalMessage"}.get(action, "UpdateMessage")
    assert root.findtext("UpdateIndicator") == (indicator if update_indicator else None)
    takedown = [t.findtext("TakeDown") for t in deals_of(root)]
    wanted = "true" if action == "takedown" and takedown_form == "TakeDown" else None
    assert takedown == [wanted]
    assert rules.check_message(root, action, TODAY) == []


@pytest.mark.parametrize("version", ["4.2", "4.3"])
def test_the_takedown_form_is_refused_outside_3_8_2(version: str) -> None:
    with pytest.raises(AssertionError, match=r"3\.8\.2 only"):
        make_target(version, takedown_form="TakeDown")


def test_3_8_2_takedown_uses_takedown_only_when_the_target_asks(catalog: Catalog) -> None:
    catalog.targets["ern382"] = make_target("3.8.2", takedown_form="TakeDown")
    root = tree(render(catalog, release_data(), "3.8.2", "takedown"))
    assert root.find("UpdateIndicator") is None
    terms = deals_of(root)[0]
    assert terms.findtext("TakeDown") == "true"
    assert terms.findtext("ValidityPeriod/StartDate") == str(TODAY - dt.timedelta(days=1))


@pytest.mark.parametrize("version", VERSIONS)
def test_update_is_the_full_message_with_live_deals_starting_in_the_past(
    catalog: Catalog, version: str
) -> None:
    deal = release_data()["deals"][0]
    future = {**deal, "start_date": str(TODAY + dt.timedelta(days=10))}
    live_today = {**deal, "territories": ["US"], "start_date": str(TODAY)}
    data = release_data(deals=[live_today, future])
    initial = tree(render(catalog, data, version, "initial"))
    update = tree(render(catalog, data, version, "update"))
    starts = [t.findtext("ValidityPeriod/StartDate") for t in deals_of(update)]
    assert starts == [str(TODAY - dt.timedelta(days=1)), str(TODAY + dt.timedelta(days=10))]
    assert next(t.findtext("ValidityPeriod/StartDate") for t in deals_of(initial)) == str(TODAY)
    assert len(update.findall("ResourceList/SoundRecording")) == 2
    assert rules.check_message(update, "update", TODAY) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_ended_deals_render_as_ended(catalog: Catalog, version: str) -> None:
    ended = {**release_data()["deals"][0], "end_date": "2025-07-01"}
    root = tree(render(catalog, release_data(deals=[ended]), version))
    assert deals_of(root)[0].findtext("ValidityPeriod/EndDate") == "2025-07-01"


@pytest.mark.parametrize("version", VERSIONS)
def test_withdrawn_territories_get_an_explicit_ended_deal(catalog: Catalog, version: str) -> None:
    deal = {**release_data()["deals"][0], "territories": ["US", "CA"]}
    data = release_data(deals=[deal])
    root = tree(
        render(catalog, data, version, "update", withdrawn_territories=frozenset({"MX", "JP"}))
    )
    terms = deals_of(root)
    assert len(terms) == 2
    statement = terms[1]
    assert texts(statement, "TerritoryCode") == ["JP", "MX"]
    assert statement.findtext("ValidityPeriod/EndDate") == str(TODAY - dt.timedelta(days=2))
    assert texts(statement, "CommercialModelType") == ["SubscriptionModel"]
    live = terms[0]
    assert texts(live, "TerritoryCode") == ["US", "CA"]
    assert live.find("ValidityPeriod/EndDate") is None
    assert_valid(etree.tostring(root), version)
    without = tree(render(catalog, data, version, "update"))
    assert len(deals_of(without)) == 1


def test_withdrawn_territory_in_3_8_2_takedown_form(catalog: Catalog) -> None:
    catalog.targets["ern382"] = make_target("3.8.2", takedown_form="TakeDown")
    root = tree(
        render(catalog, release_data(), "3.8.2", "update", withdrawn_territories=frozenset({"FR"}))
    )
    statement = deals_of(root)[1]
    assert statement.findtext("TakeDown") == "true"
    assert texts(statement, "TerritoryCode") == ["FR"]


def test_a_withdrawn_territory_with_a_live_deal_is_refused(catalog: Catalog) -> None:
    deal = {**release_data()["deals"][0], "territories": ["US"]}
    with pytest.raises(RenderError, match="US"):
        render(catalog, release_data(deals=[deal]), "4.3", withdrawn_territories=frozenset({"US"}))


def test_a_takedown_without_deals_has_no_deal_list(catalog: Catalog) -> None:
    data = release_data(deals=[], takedown=True)
    for version in VERSIONS:
        xml = render(catalog, data, version, "takedown")
        assert_valid(xml, version)
        assert tree(xml).find("DealList") is None


# --- values each version lacks, territories, text ----------------------------------------------


def test_values_a_version_lacks_become_user_defined(catalog: Catalog) -> None:
    deal = {
        **release_data()["deals"][0],
        "use_types": ["OnDemandStream", "DubForOnDemandStreaming"],
    }
    data = release_data(release_type="DjMix", deals=[deal])
    data["tracks"][0]["contributors"] = [{"name": "Ann", "role": "Presenter"}]
    root = tree(render(catalog, data, "3.8.2"))
    release_type = root.find("ReleaseList/Release/ReleaseType")
    assert (release_type.text, release_type.get("UserDefinedValue")) == ("UserDefined", "DjMix")
    assert release_type.get("Namespace") == "PADPIDA2025110101D"
    use = root.findall(".//Usage/UseType")[1]
    assert (use.text, use.get("UserDefinedValue")) == ("UserDefined", "DubForOnDemandStreaming")
    role = root.find(".//ResourceContributorRole")
    assert (role.text, role.get("UserDefinedValue")) == ("UserDefined", "Presenter")
    root43 = tree(render(catalog, data, "4.3"))
    assert root43.findtext("ReleaseList/Release/ReleaseType") == "DjMix"
    assert texts(root43, ".//Contributor/Role") == ["Presenter"]


def test_composer_display_artist_is_an_artist_in_4_2(catalog: Catalog) -> None:
    data = release_data(artists=[{"name": "Clara", "role": "Composer"}])
    assert tree(render(catalog, data, "4.2")).findtext(".//DisplayArtistRole") == "Artist"
    assert tree(render(catalog, data, "4.3")).findtext(".//DisplayArtistRole") == "Composer"


def test_iso_numeric_territory_falls_back_to_alpha_2(catalog: Catalog) -> None:
    deal = {**release_data()["deals"][0], "territories": ["446"]}
    data = release_data(deals=[deal])
    assert texts(tree(render(catalog, data, "4.3")), ".//DealTerms/TerritoryCode") == ["446"]
    assert texts(tree(render(catalog, data, "4.2")), ".//DealTerms/TerritoryCode") == ["MO"]


@pytest.mark.parametrize("version", VERSIONS)
def test_worldwide_with_exclusions_is_written_as_excluded_territories(
    catalog: Catalog, version: str
) -> None:
    deal = {**release_data()["deals"][0], "excluded_territories": ["US", "CU"]}
    root = tree(render(catalog, release_data(deals=[deal]), version))
    terms = deals_of(root)[0]
    assert texts(terms, "ExcludedTerritoryCode") == ["US", "CU"]
    assert terms.find("TerritoryCode") is None


def test_exclusions_from_a_region_cannot_be_written(catalog: Catalog) -> None:
    deal = {**release_data()["deals"][0], "territories": ["2120"], "excluded_territories": ["DE"]}
    with pytest.raises(RenderError, match="either the territories") as caught:
        render(catalog, release_data(deals=[deal]), "4.3")
    assert caught.value.loc == ("deals", 0, "excluded_territories")


@pytest.mark.parametrize("version", VERSIONS)
def test_xml_special_and_non_latin_text_round_trips(catalog: Catalog, version: str) -> None:
    title = "Rock & Roll <Live> \"Ünïcødé\" '夜' \u0645\u0631\u062d\u0628\u0627 &amp;"
    data = release_data(title=title, label="A&B <Records>", version='Take "2"')
    data["artists"] = [{"name": "Æsir & Co <x>", "role": "MainArtist"}]
    xml = render(catalog, data, version)
    assert_valid(xml, version)
    root = tree(xml)
    found = root.findtext(".//ReleaseList/Release//TitleText")
    assert found == title
    assert title in [e.text for e in root.iter() if isinstance(e.tag, str)]
    assert "A&B <Records>" in [e.text for e in root.iter() if isinstance(e.tag, str)]


def test_characters_xml_cannot_carry_are_refused_by_the_model() -> None:
    # issue 10: the release model refuses them (located), long before lxml would at render time
    with pytest.raises(AssertionError) as refused:
        make_release(release_data(title="Bell\x07"))
    assert str(refused.value).startswith(
        "['catalog/test.yaml:2:1: title: U+0007 (a control character) at position 5: remove it;"
    )


def test_missing_asset_is_a_render_error_on_its_field(catalog: Catalog) -> None:
    data = release_data()
    data["tracks"][1]["audio"] = "assets/t/missing.wav"
    with pytest.raises(RenderError) as caught:
        render(catalog, data, "4.3")
    assert caught.value.loc == ("tracks", 1, "audio")
    data["tracks"][1]["audio"] = "../outside.wav"
    with pytest.raises(RenderError, match="not inside the repository"):
        render(catalog, data, "4.3")


def test_a_changed_asset_is_probed_again(test_root: Path, catalog: Catalog) -> None:
    write_wav(test_root / "assets/t/05.wav", seconds=0.2, rate=22050)
    data = release_data()
    data["tracks"][0]["audio"] = "assets/t/05.wav"
    first = tree(render(catalog, data, "4.3"))
    assert first.findtext(".//SamplingRate") == "22050"
    write_wav(test_root / "assets/t/05.wav", seconds=0.3, rate=48000)
    second = tree(render(catalog, data, "4.3"))
    assert second.findtext(".//SamplingRate") == "48000"


def test_preview_start_is_written_per_version(catalog: Catalog) -> None:
    data = release_data()
    data["tracks"][0]["preview_start"] = 30
    assert tree(render(catalog, data, "4.3")).findtext(".//ClipDetails/Timing/StartPoint") == "30"
    assert tree(render(catalog, data, "4.2")).findtext(".//PreviewDetails/StartPoint") == "30"
    assert tree(render(catalog, data, "3.8.2")).findtext(".//PreviewDetails/StartPoint") == "30"


def test_durations_are_iso_8601(catalog: Catalog) -> None:
    data = release_data()
    data["tracks"][0]["duration"] = 3725.5
    data["tracks"][1]["duration"] = "PT3M35S"
    root = tree(render(catalog, data, "4.3"))
    assert texts(root, "ResourceList/SoundRecording/Duration") == ["PT1H2M5.5S", "PT3M35S"]
    assert root.findtext("ReleaseList/Release/Duration") == "PT1H5M40.5S"


def test_an_unknown_or_apple_free_target_is_refused(catalog: Catalog) -> None:
    with pytest.raises(RenderError, match="unknown target"):
        render_message(catalog, make_release(release_data()), "nowhere", "initial", context())


# --- genres --------------------------------------------------------------------------------


def test_genres_follow_the_targets_genre_map() -> None:
    catalog = example_catalog()
    amazon = catalog.targets["amazon"].model
    beatport = catalog.targets["beatport"].model
    assert map_genre(catalog, amazon, "HOUSE") == "Dance & Electronic > House"
    assert map_genre(catalog, amazon, "DEEP_HOUSE") == "Dance & Electronic > House"  # ancestor
    assert map_genre(catalog, catalog.targets["spotify"].model, "HOUSE") is None  # no map
    assert map_genre(catalog, beatport, "DEEP_HOUSE") == "Deep House"
    with pytest.raises(GenreMappingError, match="strict"):
        map_genre(catalog, beatport, "POP")
    lenient = beatport.model_copy(update={"genre_strict": False, "genre_fallback": "House"})
    assert map_genre(catalog, lenient, "POP") == "House"
    no_fallback = beatport.model_copy(update={"genre_strict": False})
    with pytest.raises(GenreMappingError, match="no fallback"):
        map_genre(catalog, no_fallback, "POP")
    assert (
        map_genre(catalog, amazon.model_copy(update={"genre_fallback": "Jazz"}), "POLKA_X")
        == "Jazz"
    )


def test_mapped_genres_are_written_as_genre_and_sub_genre() -> None:
    catalog = example_catalog()
    loaded = next(r for r in catalog.releases.values() if r.model.upc == "4250123456789")
    root = tree(render_message(catalog, loaded, "amazon", "initial", context()))
    genre = root.find("ReleaseList/Release/Genre")
    assert (genre.findtext("GenreText"), genre.findtext("SubGenre")) == ("Rap & Hip-Hop", "Trap")


def test_an_apple_target_without_a_genre_map_maps_through_the_apple_map() -> None:
    catalog = example_catalog()
    apple = catalog.targets["apple"].model
    assert apple.genre_map is None
    assert map_genre(catalog, apple, "JUNGLE") == "DRUM-AND-BASS-00"  # its ancestor's value
    assert map_genre(catalog, apple, "POLKA_X") == "POP-00"  # the map's fallback
    strict = apple.model_copy(update={"genre_strict": True})
    with pytest.raises(GenreMappingError) as raised:
        map_genre(catalog, strict, "POLKA_X", "release 1234567890128 (catalog/x.yaml)", 2)
    assert raised.value.loc == ("tracks", 2, "genre")
    assert raised.value.message == (
        "genre POLKA_X has no mapping in genre map 'apple' (nor has any parent genre) and the "
        "target is strict; release 1234567890128 (catalog/x.yaml)"
    )


def test_an_unmappable_track_genre_is_reported_on_the_track_naming_the_release(
    catalog: Catalog,
) -> None:
    example = example_catalog()
    catalog.taxonomy, catalog.genre_maps = example.taxonomy, example.genre_maps
    catalog.vocabularies = example.vocabularies
    catalog.targets["ern43"] = make_target("4.3", genre_map="beatport", genre_strict=True)
    data = release_data(genre="HOUSE")
    data["tracks"][1]["genre"] = "POP"
    with pytest.raises(GenreMappingError) as raised:
        render(catalog, data, "4.3")
    assert raised.value.loc == ("tracks", 1, "genre")
    assert raised.value.message == (
        "genre POP has no mapping in genre map 'beatport' (nor has any parent genre) and the "
        "target is strict; release 1234567890128 (catalog/test.yaml), target 'ern43'"
    )


# --- payload: the message alone ------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_an_update_without_its_assets_is_the_message_alone_and_valid(
    catalog: Catalog, version: str
) -> None:
    loaded = make_release(release_data())
    name = target_name(version)
    full = render_package(catalog, loaded, name, "update", context())
    alone = render_package(catalog, loaded, name, "update", context(), include_assets=False)
    assert [f.kind for f in alone.files] == ["message"]
    assert alone.fingerprint == full.fingerprint  # what the DSP ends up with is the same
    assert_valid(alone.message.data, version)
    root = tree(alone.message.data)
    described = root.findall(".//TechnicalResourceDetailsReference")
    assert len(described) == len(full.resources)  # every file is still described
    if version == "3.8.2":  # its File cannot say "not in this delivery": left out
        assert root.find(".//File") is None
    else:  # the File names the copy the DSP holds
        flags = [e.text for e in root.iter("IsProvidedInDelivery")]
        assert flags == ["false"] * len(full.resources)
        md5s = [e.text for e in root.iter("HashSumValue")]
        assert md5s == [f.md5 for f in full.resources]
    assert tree(full.message.data).find(".//IsProvidedInDelivery") is None


@pytest.mark.parametrize("version", VERSIONS)
def test_a_takedown_package_is_the_message_alone(catalog: Catalog, version: str) -> None:
    loaded = make_release(release_data())
    package = render_package(catalog, loaded, target_name(version), "takedown", context())
    assert [f.name for f in package.files] == ["1234567890128.xml"]
    assert not package.assets_included
    assert_valid(package.message.data, version)

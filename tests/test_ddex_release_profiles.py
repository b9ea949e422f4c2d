"""ERN 4 ReleaseProfileVersionId (written by default from the release type, a target may
override it) and the DDEX release-profile rules (ERN 4 Part 2, clauses 6.1, 6.2, 6.5, 7.3, 9):
each made to fail on a rendered message, and passing on the message as rendered."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from stardust_git import rules, xsd
from stardust_git.models.release_profile import default_release_profile, release_profile_id
from stardust_git.render import render_message
from tests.test_render_support import SAMPLES, context, example_catalog, target_name

ALBUM = "catalog/the-meridians/longitude.yaml"
ERN4 = ("4.2", "4.3")


def rendered(version: str = "4.3", path: str = ALBUM) -> etree._Element:
    catalog = example_catalog()
    xml = render_message(
        catalog, catalog.releases[path], target_name(version), "initial", context()
    )
    return etree.fromstring(xml)


def profile_problems(root: etree._Element) -> list[rules.RuleProblem]:
    return [p for p in rules.check_message(root) if p.rule.startswith("DDEX-RP-")]


def ids(root: etree._Element) -> list[str]:
    return [p.rule for p in profile_problems(root)]


def as_simple_single(root: etree._Element) -> etree._Element:
    """The message relabelled SimpleAudioSingle, with every Track Release gone."""
    single = copy.deepcopy(root)
    single.set("ReleaseProfileVersionId", "SimpleAudioSingle")
    release_list = single.find("ReleaseList")
    for track in release_list.findall("TrackRelease"):
        release_list.remove(track)
    return single


def keep_first_recording(root: etree._Element) -> None:
    """Drop all primary resources of the main release but the first."""
    items = root.findall("ReleaseList/Release/ResourceGroup//ResourceGroupContentItem")
    for item in items[1:]:
        item.getparent().remove(item)


# --- the element --------------------------------------------------------------------------


@pytest.mark.parametrize("version", ERN4)
def test_ern4_messages_declare_the_audio_profile_by_default_and_validate(version: str) -> None:
    catalog = example_catalog()
    for path, loaded in catalog.releases.items():
        target = target_name(version)
        xml = render_message(catalog, loaded, target, "initial", context())
        root = etree.fromstring(xml)
        assert catalog.targets[target].model.release_profile is None
        assert root.get("ReleaseProfileVersionId") == "Audio", path
        assert xsd.validate_xml(xml, version) == [], path
        assert profile_problems(root) == [], path


def test_the_3_8_2_message_declares_no_profile_unless_the_target_names_one() -> None:
    assert rendered("3.8.2").get("ReleaseProfileVersionId") is None


def test_a_target_release_profile_overrides_the_default() -> None:
    catalog = example_catalog()
    release = catalog.releases[ALBUM].model
    target = catalog.targets[target_name("4.3")].model
    assert release_profile_id(release, target) == "Audio"
    chosen = target.model_copy(update={"release_profile": "SimpleAudioSingle"})
    assert release_profile_id(release, chosen) == "SimpleAudioSingle"
    old = catalog.targets[target_name("3.8.2")].model
    named = old.model_copy(update={"release_profile": "CommonReleaseTypes/13/AudioSingle"})
    assert release_profile_id(release, old) is None
    assert release_profile_id(release, named) == "CommonReleaseTypes/13/AudioSingle"


@pytest.mark.parametrize(
    ("release_type", "profile"),
    [("Album", "Audio"), ("Single", "Audio"), ("EP", "Audio"), ("VideoSingle", None)],
)
def test_the_default_follows_the_release_type(release_type: str, profile: str | None) -> None:
    release = example_catalog().releases[ALBUM].model
    typed = release.model_copy(update={"release_type": release_type})
    assert default_release_profile(typed) == profile


def test_the_official_ern4_samples_pass_the_profile_rules() -> None:
    for sample in sorted(SAMPLES.glob("ern4*/*.xml")):
        root = xsd.parse_untrusted(sample.read_bytes())
        assert root.get("ReleaseProfileVersionId") in ("Audio", "SimpleAudioSingle")
        assert profile_problems(root) == [], sample.name


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ERN4)
def test_rp_6_1_exactly_one_main_release(version: str) -> None:
    root = rendered(version)
    assert ids(root) == []
    main = root.find("ReleaseList/Release")
    twin = copy.deepcopy(main)
    twin.find("ReleaseReference").text = "R99"
    main.addnext(twin)
    problems = profile_problems(root)
    assert [p.rule for p in problems] == ["DDEX-RP-6.1"]
    assert problems[0].message.startswith("DDEX release profile rule 6.1: ")
    assert "not 2" in problems[0].message


def test_rp_6_1_binds_only_a_message_that_declares_a_profile() -> None:
    root = rendered()
    del root.attrib["ReleaseProfileVersionId"]
    main = root.find("ReleaseList/Release")
    main.addnext(copy.deepcopy(main))
    assert ids(root) == []


def test_rp_6_2_an_audio_message_has_one_track_release_per_primary_resource() -> None:
    root = rendered()
    tracks = root.findall("ReleaseList/TrackRelease")
    gone = tracks[0].findtext("ReleaseResourceReference")
    tracks[0].getparent().remove(tracks[0])
    problems = profile_problems(root)
    assert [p.rule for p in problems] == ["DDEX-RP-6.2"]
    assert f"one Track Release of {gone}, found 0" in problems[0].message


def test_rp_6_2_an_audio_message_has_one_front_cover() -> None:
    root = rendered()
    root.find("ResourceList/Image/Type").text = "BackCoverImage"
    problems = profile_problems(root)
    assert [p.rule for p in problems] == ["DDEX-RP-6.2"]
    assert "one FrontCoverImage, found 0" in problems[0].message


def test_rp_6_5_a_simple_audio_single_has_one_recording_and_no_track_release() -> None:
    album = rendered()
    single = as_simple_single(album)
    assert "DDEX-RP-6.5" in ids(single)  # twelve primary resources
    keep_first_recording(single)
    assert ids(single) == []
    with_track = copy.deepcopy(single)
    with_track.find("ReleaseList").append(copy.deepcopy(album.find("ReleaseList/TrackRelease")))
    problems = profile_problems(with_track)
    assert [p.rule for p in problems] == ["DDEX-RP-6.5"]
    assert "no Track Release" in problems[0].message


@pytest.mark.parametrize("version", ERN4)
def test_rp_7_3_a_track_release_is_not_identified_by_an_isrc_alone(version: str) -> None:
    root = rendered(version)
    ids_element = root.find("ReleaseList/TrackRelease/ReleaseId")
    for child in list(ids_element):
        ids_element.remove(child)
    etree.SubElement(ids_element, "ISRC").text = "USIR12500001"
    problems = profile_problems(root)
    assert [p.rule for p in problems] == ["DDEX-RP-7.3"]
    assert problems[0].path.endswith("/ReleaseList/TrackRelease[1]")


def test_rp_9_a_track_release_holds_a_primary_resource_and_nothing_else() -> None:
    root = rendered()
    track = root.find("ReleaseList/TrackRelease")
    cover = root.findtext("ResourceList/Image/ResourceReference")
    etree.SubElement(track, "LinkedReleaseResourceReference").text = cover
    found = [p for p in profile_problems(root) if p.rule == "DDEX-RP-9"]
    assert [p.message for p in found] == [
        "DDEX release profile rule 9: a Track Release holds no secondary resources"
    ]
    track.remove(track.find("LinkedReleaseResourceReference"))
    track.find("ReleaseResourceReference").text = cover
    messages = [p.message for p in profile_problems(root) if p.rule == "DDEX-RP-9"]
    assert messages == [
        f"DDEX release profile rule 9: a Track Release holds a primary resource of the main "
        f"release, not {cover}"
    ]
